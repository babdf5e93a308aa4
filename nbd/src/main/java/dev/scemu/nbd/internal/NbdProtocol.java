package dev.scemu.nbd.internal;

/**
 * Wire constants of the NBD protocol, named as in the protocol document ({@code doc/proto.md} of
 * NetworkBlockDevice/nbd). All integers travel big-endian (network byte order).
 */
public final class NbdProtocol {

    private NbdProtocol() {
    }

    // ---- magic numbers ----
    /** ASCII "NBDMAGIC" ({@code INIT_PASSWD}), first 8 bytes the server sends. */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** ASCII "IHAVEOPT": newstyle magic, also the prefix of every client option. */
    public static final long IHAVEOPT = 0x49484156454F5054L;
    /** Prefix of every fixed-newstyle option reply. */
    public static final long NBD_OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    public static final int NBD_REQUEST_MAGIC = 0x25609513;
    public static final int NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    // ---- handshake flags (server, 16 bits) ----
    public static final int NBD_FLAG_FIXED_NEWSTYLE = 1;
    public static final int NBD_FLAG_NO_ZEROES = 1 << 1;

    // ---- client flags (32 bits) ----
    public static final int NBD_FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int NBD_FLAG_C_NO_ZEROES = 1 << 1;

    // ---- transmission flags (16 bits) ----
    public static final int NBD_FLAG_HAS_FLAGS = 1;
    public static final int NBD_FLAG_READ_ONLY = 1 << 1;
    public static final int NBD_FLAG_SEND_FLUSH = 1 << 2;
    public static final int NBD_FLAG_SEND_FUA = 1 << 3;
    public static final int NBD_FLAG_ROTATIONAL = 1 << 4;
    public static final int NBD_FLAG_SEND_TRIM = 1 << 5;
    public static final int NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int NBD_FLAG_SEND_DF = 1 << 7;
    public static final int NBD_FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int NBD_FLAG_SEND_RESIZE = 1 << 9;
    public static final int NBD_FLAG_SEND_CACHE = 1 << 10;
    public static final int NBD_FLAG_SEND_FAST_ZERO = 1 << 11;

    // ---- option types ----
    public static final int NBD_OPT_EXPORT_NAME = 1;
    public static final int NBD_OPT_ABORT = 2;
    public static final int NBD_OPT_LIST = 3;
    public static final int NBD_OPT_PEEK_EXPORT = 4;
    public static final int NBD_OPT_STARTTLS = 5;
    public static final int NBD_OPT_INFO = 6;
    public static final int NBD_OPT_GO = 7;
    public static final int NBD_OPT_STRUCTURED_REPLY = 8;
    public static final int NBD_OPT_LIST_META_CONTEXT = 9;
    public static final int NBD_OPT_SET_META_CONTEXT = 10;

    // ---- option reply types ----
    public static final int NBD_REP_ACK = 1;
    public static final int NBD_REP_SERVER = 2;
    public static final int NBD_REP_INFO = 3;
    public static final int NBD_REP_META_CONTEXT = 4;
    public static final int NBD_REP_FLAG_ERROR = 1 << 31;
    public static final int NBD_REP_ERR_UNSUP = NBD_REP_FLAG_ERROR | 1;
    public static final int NBD_REP_ERR_POLICY = NBD_REP_FLAG_ERROR | 2;
    public static final int NBD_REP_ERR_INVALID = NBD_REP_FLAG_ERROR | 3;
    public static final int NBD_REP_ERR_PLATFORM = NBD_REP_FLAG_ERROR | 4;
    public static final int NBD_REP_ERR_TLS_REQD = NBD_REP_FLAG_ERROR | 5;
    public static final int NBD_REP_ERR_UNKNOWN = NBD_REP_FLAG_ERROR | 6;
    public static final int NBD_REP_ERR_SHUTDOWN = NBD_REP_FLAG_ERROR | 7;
    public static final int NBD_REP_ERR_BLOCK_SIZE_REQD = NBD_REP_FLAG_ERROR | 8;
    public static final int NBD_REP_ERR_TOO_BIG = NBD_REP_FLAG_ERROR | 9;

    // ---- information types of NBD_REP_INFO ----
    public static final int NBD_INFO_EXPORT = 0;
    public static final int NBD_INFO_NAME = 1;
    public static final int NBD_INFO_DESCRIPTION = 2;
    public static final int NBD_INFO_BLOCK_SIZE = 3;

    // ---- request types ----
    public static final int NBD_CMD_READ = 0;
    public static final int NBD_CMD_WRITE = 1;
    public static final int NBD_CMD_DISC = 2;
    public static final int NBD_CMD_FLUSH = 3;
    public static final int NBD_CMD_TRIM = 4;
    public static final int NBD_CMD_CACHE = 5;
    public static final int NBD_CMD_WRITE_ZEROES = 6;
    public static final int NBD_CMD_BLOCK_STATUS = 7;

    // ---- command flags ----
    public static final int NBD_CMD_FLAG_FUA = 1;
    public static final int NBD_CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int NBD_CMD_FLAG_DF = 1 << 2;
    public static final int NBD_CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int NBD_CMD_FLAG_FAST_ZERO = 1 << 4;

    // ---- structured replies ----
    public static final int NBD_REPLY_FLAG_DONE = 1;
    public static final int NBD_REPLY_TYPE_NONE = 0;
    public static final int NBD_REPLY_TYPE_OFFSET_DATA = 1;
    public static final int NBD_REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int NBD_REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int NBD_REPLY_TYPE_ERROR = (1 << 15) | 1;
    public static final int NBD_REPLY_TYPE_ERROR_OFFSET = (1 << 15) | 2;

    // ---- metadata contexts ----
    /** The one metadata context this server offers: allocation (holes and zeros). */
    public static final String BASE_ALLOCATION = "base:allocation";
    /** Its context id on every connection (ids are per connection; any unique value will do). */
    public static final int BASE_ALLOCATION_ID = 1;
    /** {@code base:allocation} status flag: the extent is not allocated. */
    public static final int NBD_STATE_HOLE = 1;
    /** {@code base:allocation} status flag: the extent reads as zeros. */
    public static final int NBD_STATE_ZERO = 1 << 1;

    // ---- error values ----
    public static final int NBD_EPERM = 1;
    public static final int NBD_EIO = 5;
    public static final int NBD_ENOMEM = 12;
    public static final int NBD_EINVAL = 22;
    public static final int NBD_ENOSPC = 28;
    public static final int NBD_EOVERFLOW = 75;
    public static final int NBD_ENOTSUP = 95;
    public static final int NBD_ESHUTDOWN = 108;

    // ---- message sizes in bytes ----
    /** magic(4) flags(2) type(2) handle(8) offset(8) length(4). */
    public static final int REQUEST_HEADER_BYTES = 28;
    /** magic(4) error(4) handle(8). */
    public static final int SIMPLE_REPLY_HEADER_BYTES = 16;
    /** magic(4) flags(2) type(2) handle(8) length(4). */
    public static final int STRUCTURED_REPLY_HEADER_BYTES = 20;
    /** Zeroes after the NBD_OPT_EXPORT_NAME reply unless NBD_FLAG_C_NO_ZEROES. */
    public static final int EXPORT_NAME_RESERVED_ZEROES_BYTES = 124;
    /** Longest string the protocol allows (export names, descriptions, messages). */
    public static final int MAX_STRING_BYTES = 4096;
    /** IANA port of NBD. */
    public static final int NBD_DEFAULT_PORT = 10809;

    /** Human-readable name of an NBD error value. */
    public static String errorName(int error) {
        switch (error) {
            case 0: return "OK";
            case NBD_EPERM: return "EPERM";
            case NBD_EIO: return "EIO";
            case NBD_ENOMEM: return "ENOMEM";
            case NBD_EINVAL: return "EINVAL";
            case NBD_ENOSPC: return "ENOSPC";
            case NBD_EOVERFLOW: return "EOVERFLOW";
            case NBD_ENOTSUP: return "ENOTSUP";
            case NBD_ESHUTDOWN: return "ESHUTDOWN";
            default: return "E" + error;
        }
    }
}
