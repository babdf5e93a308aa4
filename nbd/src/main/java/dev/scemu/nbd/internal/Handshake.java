package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.EXPORT_NAME_RESERVED_ZEROES_BYTES;
import static dev.scemu.nbd.internal.NbdProtocol.IHAVEOPT;
import static dev.scemu.nbd.internal.NbdProtocol.NBDMAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_BLOCK_SIZE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_DESCRIPTION;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_EXPORT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_NAME;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPTION_REPLY_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_ABORT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_EXPORT_NAME;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_SET_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STARTTLS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STRUCTURED_REPLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_INVALID;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_POLICY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_TLS_REQD;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_UNKNOWN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_UNSUP;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_SERVER;

import java.io.IOException;
import java.nio.ByteBuffer;
import dev.scemu.nbd.NbdTlsMode;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixed newstyle handshake of one connection: greeting, client flags, then option haggling
 * until the client picks an export ({@code NBD_OPT_GO} or {@code NBD_OPT_EXPORT_NAME}), aborts,
 * or breaks the protocol. Unknown options get {@code NBD_REP_ERR_UNSUP}; malformed known ones
 * {@code NBD_REP_ERR_INVALID}; an unparseable stream ends the connection. Entering transmission
 * needs the server's admission (a transmission slot, see {@link ConnectionTable}, and the export
 * still registered), granted before the final reply is sent, so the export counts the connection
 * as open by the time the client learns it is in; a refused {@code NBD_OPT_GO} is answered with an
 * error ({@code NBD_REP_ERR_POLICY}, {@code NBD_REP_ERR_UNKNOWN}), a refused
 * {@code NBD_OPT_EXPORT_NAME} ends the session.
 *
 * <h2>TLS</h2>
 * With TLS on or required (TCP connections only), {@code NBD_OPT_STARTTLS} is acknowledged and the
 * TLS handshake runs at once; every later byte of the session goes through TLS. Anything the client
 * sent after the option before the TLS handshake is a protocol violation (the client must wait for
 * the acknowledgement; plaintext smuggled behind STARTTLS is never read as if it came through TLS).
 * Structured replies negotiated before TLS are forgotten (as nbdkit and qemu-nbd do since
 * CVE-2021-3716): what was agreed in plaintext is not trusted. In REQUIRE mode (FORCEDTLS), every
 * option but {@code NBD_OPT_STARTTLS} and {@code NBD_OPT_ABORT} is answered
 * {@code NBD_REP_ERR_TLS_REQD} until TLS runs, and {@code NBD_OPT_EXPORT_NAME} ends the session.
 *
 * <h2>Metadata contexts</h2>
 * {@code NBD_OPT_LIST_META_CONTEXT} and {@code NBD_OPT_SET_META_CONTEXT} ({@link MetaContextRequest})
 * need structured replies first ({@code NBD_REP_ERR_INVALID} otherwise), name an export
 * ({@code NBD_REP_ERR_UNKNOWN} if it is not registered) and know one context, {@code base:allocation}.
 * A SET replaces the selection; an invalid or refused one leaves it as it was. The selection is
 * bound to the export the SET named: it is active in transmission only if the client then enters
 * that same export, and it is forgotten by STARTTLS, like structured replies.
 */
final class Handshake {

    private static final Logger LOG = LoggerFactory.getLogger(Handshake.class);

    /** Option data longer than this is treated as a denial-of-service attempt (hard disconnect). */
    static final int MAX_OPTION_DATA_BYTES = 64 * 1024;
    /** Options accepted on one connection before the server gives up on the client. */
    static final int MAX_OPTIONS = 4096;

    /** Why a client may not enter transmission: an option reply error type and a message. */
    record Refusal(int replyType, String message) {
    }

    /** Outcome of a successful handshake. */
    record Result(ExportHandle export, boolean structuredReplies, boolean allocationContext) {
    }

    private final Transport transport;
    /** The mode for this connection: the server's for TCP, OFF over a unix domain socket. */
    private final NbdTlsMode tlsMode;
    private final TlsCredentials tls;
    private final ServerCounters counters;
    private final ChannelInput in;
    private final ExportRegistry exports;
    private final ServerConfig config;
    private final String peer;
    /** Asked before entering transmission on an export: null if admitted, else the refusal. */
    private final Function<ExportHandle, Refusal> admission;
    private boolean noZeroes;
    private boolean structuredReplies;
    /** The export the last successful NBD_OPT_SET_META_CONTEXT selected base:allocation for, or null. */
    private ExportHandle allocationContextExport;
    /** Set when NBD_OPT_EXPORT_NAME named no export: the session must end. */
    private boolean terminate;

    Handshake(Transport transport, ChannelInput in, ServerContext context, String peer,
              Function<ExportHandle, Refusal> admission) {
        this.admission = admission;
        this.transport = transport;
        this.tlsMode = transport.tcp() && context.tls() != null ? context.config().tlsMode() : NbdTlsMode.OFF;
        this.tls = context.tls();
        this.counters = context.counters();
        ExportRegistry exports = context.exports();
        ServerConfig config = context.config();
        this.in = in;
        this.exports = exports;
        this.config = config;
        this.peer = peer;
    }

    /** Runs the handshake; null if the client ended it without entering transmission. */
    Result run() throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        greeting.putLong(NBDMAGIC).putLong(IHAVEOPT).putShort((short) (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES));
        write(greeting.flip());

        int clientFlags = in.readInt();
        if ((clientFlags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) != 0) {
            throw new ProtocolViolationException("unknown client flags 0x" + Integer.toHexString(clientFlags));
        }
        // Clients without NBD_FLAG_C_FIXED_NEWSTYLE get fixed newstyle replies too (the spec allows it).
        noZeroes = (clientFlags & NBD_FLAG_C_NO_ZEROES) != 0;

        for (int count = 0; count < MAX_OPTIONS; count++) {
            long magic = in.readLong();
            if (magic != IHAVEOPT) {
                throw new ProtocolViolationException("option magic 0x" + Long.toHexString(magic) + " is not IHAVEOPT");
            }
            int option = in.readInt();
            long lengthBytes = in.readInt() & 0xffffffffL;
            if (lengthBytes > MAX_OPTION_DATA_BYTES) {
                throw new ProtocolViolationException("option " + option + " carries " + lengthBytes
                        + " bytes, more than " + MAX_OPTION_DATA_BYTES);
            }
            byte[] data = in.readBytes((int) lengthBytes);
            Result result = handle(option, data);
            if (result != null || option == NBD_OPT_ABORT || terminate) {
                return result;
            }
        }
        throw new ProtocolViolationException("more than " + MAX_OPTIONS + " options");
    }

    private Result handle(int option, byte[] data) throws IOException {
        if (tlsMode == NbdTlsMode.REQUIRE && !transport.tlsActive() && option != NBD_OPT_STARTTLS
                && option != NBD_OPT_ABORT) {
            if (option == NBD_OPT_EXPORT_NAME) {
                // cannot carry an error: the spec requires ending the session
                LOG.info("{}: NBD_OPT_EXPORT_NAME without TLS, which is required: closing", peer);
                terminate = true;
                return null;
            }
            replyError(option, NBD_REP_ERR_TLS_REQD, "TLS is required: send NBD_OPT_STARTTLS first");
            return null;
        }
        switch (option) {
            case NBD_OPT_STARTTLS:
                startTls(data);
                return null;
            case NBD_OPT_EXPORT_NAME:
                return exportName(data);
            case NBD_OPT_ABORT:
                reply(option, NBD_REP_ACK, new byte[0]);
                return null;
            case NBD_OPT_LIST:
                list(data);
                return null;
            case NBD_OPT_INFO:
            case NBD_OPT_GO:
                return infoOrGo(option, data);
            case NBD_OPT_STRUCTURED_REPLY:
                if (data.length != 0) {
                    replyError(option, NBD_REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
                } else if (structuredReplies) {
                    replyError(option, NBD_REP_ERR_INVALID, "structured replies are already negotiated");
                } else {
                    structuredReplies = true;
                    reply(option, NBD_REP_ACK, new byte[0]);
                }
                return null;
            case NBD_OPT_LIST_META_CONTEXT:
            case NBD_OPT_SET_META_CONTEXT:
                metaContext(option, data);
                return null;
            default:
                replyError(option, NBD_REP_ERR_UNSUP, "option " + option + " is not supported by this server");
                return null;
        }
    }

    private void startTls(byte[] data) throws IOException {
        if (tlsMode == NbdTlsMode.OFF) {
            if (tls != null) {
                replyError(NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY, "TLS is not offered on unix domain sockets");
            } else {
                replyError(NBD_OPT_STARTTLS, NBD_REP_ERR_UNSUP, "TLS is not enabled on this server");
            }
            return;
        }
        if (transport.tlsActive()) {
            replyError(NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID, "TLS is already active");
            return;
        }
        if (data.length != 0) {
            replyError(NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
            return;
        }
        reply(NBD_OPT_STARTTLS, NBD_REP_ACK, new byte[0]);
        if (in.buffered() > 0) {
            throw new ProtocolViolationException(in.buffered() + " bytes sent after NBD_OPT_STARTTLS before its"
                    + " acknowledgement");
        }
        try {
            transport.startTls(tls);
        } catch (IOException e) {
            counters.tlsFailure();
            LOG.info("{}: TLS handshake failed: {}", peer, e.toString());
            throw e;
        }
        in.switchTo(transport.in());
        structuredReplies = false; // negotiated in plaintext: not trusted (CVE-2021-3716)
        allocationContextExport = null;
        counters.tlsSession();
        LOG.debug("{}: TLS session {}", peer, transport.tlsSession());
    }

    private Result exportName(byte[] data) throws IOException {
        String name = new String(data, StandardCharsets.UTF_8);
        ExportHandle export = exports.find(name);
        if (export == null) {
            // NBD_OPT_EXPORT_NAME cannot carry an error: the spec requires terminating the session
            LOG.debug("{}: NBD_OPT_EXPORT_NAME for unknown export '{}': closing", peer, name);
            terminate = true;
            return null;
        }
        Refusal refusal = admission.apply(export);
        if (refusal != null) {
            LOG.info("{}: NBD_OPT_EXPORT_NAME refused: {}: closing", peer, refusal.message());
            terminate = true;
            return null;
        }
        ByteBuffer reply = ByteBuffer.allocate(10 + (noZeroes ? 0 : EXPORT_NAME_RESERVED_ZEROES_BYTES));
        reply.putLong(export.sizeBytes()).putShort((short) export.transmissionFlags());
        reply.position(reply.capacity());
        write(reply.flip());
        return new Result(export, structuredReplies, allocationContextExport == export);
    }

    private void metaContext(int option, byte[] data) throws IOException {
        boolean set = option == NBD_OPT_SET_META_CONTEXT;
        String what = set ? "NBD_OPT_SET_META_CONTEXT" : "NBD_OPT_LIST_META_CONTEXT";
        if (!structuredReplies) {
            replyError(option, NBD_REP_ERR_INVALID, what + " needs structured replies (NBD_OPT_STRUCTURED_REPLY) first");
            return;
        }
        MetaContextRequest request;
        try {
            request = MetaContextRequest.parse(data, what);
        } catch (MetaContextRequest.InvalidException e) {
            replyError(option, NBD_REP_ERR_INVALID, e.getMessage());
            return;
        }
        ExportHandle export = exports.find(request.exportName());
        if (export == null) {
            replyError(option, NBD_REP_ERR_UNKNOWN, "unknown export '" + request.exportName() + "'");
            return;
        }
        boolean named = set ? request.selectsAllocation() : request.listsAllocation();
        if (named) {
            byte[] context = utf8(NbdProtocol.BASE_ALLOCATION);
            // LIST: the id is reserved and SHOULD be zero; SET: the id block status replies carry
            ByteBuffer entry = ByteBuffer.allocate(4 + context.length)
                    .putInt(set ? NbdProtocol.BASE_ALLOCATION_ID : 0).put(context);
            reply(option, NBD_REP_META_CONTEXT, entry.array());
        }
        if (set) {
            allocationContextExport = named ? export : null;
        }
        reply(option, NBD_REP_ACK, new byte[0]);
    }

    private void list(byte[] data) throws IOException {
        if (data.length != 0) {
            replyError(NBD_OPT_LIST, NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
            return;
        }
        for (ExportHandle export : exports.all()) {
            byte[] name = utf8(export.name());
            byte[] description = utf8(export.export().description());
            ByteBuffer entry = ByteBuffer.allocate(4 + name.length + description.length);
            entry.putInt(name.length).put(name).put(description);
            reply(NBD_OPT_LIST, NBD_REP_SERVER, entry.array());
        }
        reply(NBD_OPT_LIST, NBD_REP_ACK, new byte[0]);
    }

    private Result infoOrGo(int option, byte[] data) throws IOException {
        String what = option == NBD_OPT_GO ? "NBD_OPT_GO" : "NBD_OPT_INFO";
        if (data.length < 6) {
            replyError(option, NBD_REP_ERR_INVALID, what + " data of " + data.length + " bytes is shorter than 6");
            return null;
        }
        ByteBuffer request = ByteBuffer.wrap(data);
        long nameBytes = request.getInt() & 0xffffffffL;
        if (nameBytes > data.length - 6) {
            replyError(option, NBD_REP_ERR_INVALID, what + " name length " + nameBytes + " exceeds the option data");
            return null;
        }
        String name = new String(data, 4, (int) nameBytes, StandardCharsets.UTF_8);
        request.position(4 + (int) nameBytes);
        int requestCount = request.getShort() & 0xffff;
        if (request.remaining() != 2L * requestCount) {
            replyError(option, NBD_REP_ERR_INVALID, what + " lists " + requestCount + " information requests in "
                    + request.remaining() + " bytes");
            return null;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requestCount; i++) {
            int type = request.getShort() & 0xffff;
            wantName |= type == NBD_INFO_NAME;
            wantDescription |= type == NBD_INFO_DESCRIPTION;
        }
        ExportHandle export = exports.find(name);
        if (export == null) {
            replyError(option, NBD_REP_ERR_UNKNOWN, "unknown export '" + name + "'");
            return null;
        }
        if (option == NBD_OPT_GO) {
            Refusal refusal = admission.apply(export);
            if (refusal != null) {
                replyError(option, refusal.replyType(), refusal.message());
                return null;
            }
        }
        ByteBuffer info = ByteBuffer.allocate(12);
        info.putShort((short) NBD_INFO_EXPORT).putLong(export.sizeBytes()).putShort((short) export.transmissionFlags());
        reply(option, NBD_REP_INFO, info.array());
        if (wantName || !name.equals(export.name())) {
            reply(option, NBD_REP_INFO, typed(NBD_INFO_NAME, utf8(export.name())));
        }
        String description = export.export().description();
        if (wantDescription && !description.isEmpty()) {
            reply(option, NBD_REP_INFO, typed(NBD_INFO_DESCRIPTION, utf8(description)));
        }
        // Sent even when not requested (clients ignore what they did not ask for). Minimum 1: any
        // byte offset and length is served, by read-modify-write where it is not block aligned.
        ByteBuffer sizes = ByteBuffer.allocate(14);
        sizes.putShort((short) NBD_INFO_BLOCK_SIZE).putInt(1).putInt(preferredBlockBytes(export))
                .putInt(config.maxRequestBytes());
        reply(option, NBD_REP_INFO, sizes.array());
        reply(option, NBD_REP_ACK, new byte[0]);
        return option == NBD_OPT_GO ? new Result(export, structuredReplies, allocationContextExport == export) : null;
    }

    static int preferredBlockBytes(ExportHandle export) {
        return Math.max(512, export.device().blockSize());
    }

    private static byte[] typed(int infoType, byte[] payload) {
        return ByteBuffer.allocate(2 + payload.length).putShort((short) infoType).put(payload).array();
    }

    private void replyError(int option, int type, String message) throws IOException {
        LOG.debug("{}: option {} refused ({}): {}", peer, option, Integer.toHexString(type), message);
        reply(option, type, utf8(message));
    }

    private void reply(int option, int type, byte[] data) throws IOException {
        ByteBuffer reply = ByteBuffer.allocate(20 + data.length);
        reply.putLong(NBD_OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(data.length).put(data);
        write(reply.flip());
    }

    private void write(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            transport.out().write(buffer);
        }
    }

    private static byte[] utf8(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }
}
