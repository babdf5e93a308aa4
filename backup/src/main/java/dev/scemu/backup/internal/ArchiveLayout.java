package dev.scemu.backup.internal;

import dev.scemu.core.ChecksummedRecord;

/**
 * Layout of a backup image (format version 2; version 1 images are still read, see
 * docs/backup-format.md "Versions"). Full description, byte by byte: docs/backup-format.md.
 *
 * <pre>
 * offset 0
 * +---------------------------+  'SCBH' image header record (ImageHeader)
 * | header record             |
 * +---------------------------+  'SCBC' chunk header record (ChunkHeader) + stored bytes,
 * | chunk 0 header | stored   |   one per non-empty chunk window, in increasing window order
 * | chunk 1 header | stored   |
 * | ...                       |
 * +---------------------------+  'SCBM' extent map record (ExtentMap): covered + zero runs
 * | extent map record         |
 * +---------------------------+  'SCBT' trailer record (Trailer): counts, whole-image hash,
 * | trailer record            |   image MAC, chunk index
 * +---------------------------+  'SCBL' locator record (Locator), always the last 28 bytes
 * | locator record            |
 * +---------------------------+ end
 * </pre>
 * Every record starts with a {@link RecordHeader}: controller-core's {@code ChecksummedRecord}
 * header (magic, version, flags, length, crc32c).
 * Chunk stored bytes follow their header record and are covered by the xxHash3 in it, by the
 * chunk's SHA-256 in the trailer index and, when encrypted, by the AES-GCM tag.
 *
 * <p>Whole-image hash = SHA-256( SHA-256(header record) || SHA-256(chunk 0 header record ||
 * stored bytes) || ... || SHA-256(extent map record) ). Computing it from per-record digests lets
 * workers hash chunks in parallel and lets an interrupted backup resume from a checkpoint.
 */
public final class ArchiveLayout {

    /** Version written by this build: 2 added the header MAC and the base image hash to the header. */
    public static final int FORMAT_VERSION = 2;
    /** Oldest image version this build reads (see docs/backup-format.md, "Versions", for why it is safe). */
    public static final int MIN_READ_VERSION = 1;

    public static final int HEADER_MAGIC = magic("SCBH");
    public static final int CHUNK_MAGIC = magic("SCBC");
    public static final int EXTENT_MAP_MAGIC = magic("SCBM");
    public static final int TRAILER_MAGIC = magic("SCBT");
    public static final int LOCATOR_MAGIC = magic("SCBL");
    public static final int BACKUP_CHECKPOINT_MAGIC = magic("SCBK");
    public static final int RESTORE_CHECKPOINT_MAGIC = magic("SCBR");

    /** Header flag: chunks are encrypted. */
    public static final int HEADER_FLAG_ENCRYPTED = 1;
    /** Header flag: incremental image on a base. */
    public static final int HEADER_FLAG_INCREMENTAL = 2;
    /** Chunk flag: payload is zstd-compressed (else raw). */
    public static final int CHUNK_FLAG_ZSTD = 1;
    /** Chunk flag: payload is AES-256-GCM encrypted (ciphertext + 16-byte tag). */
    public static final int CHUNK_FLAG_ENCRYPTED = 2;

    public static final int GCM_TAG_BYTES = 16;
    public static final int GCM_NONCE_BYTES = 12;
    public static final int SALT_BYTES = 16;
    public static final int KEY_CHECK_BYTES = 32;
    public static final int SHA256_BYTES = 32;
    public static final int HEADER_MAC_BYTES = 32;

    /** Largest metadata record payload accepted (extent maps of very fragmented volumes included). */
    public static final int MAX_RECORD_PAYLOAD_BYTES = 256 << 20;

    private ArchiveLayout() {
    }

    /** The four ASCII characters as a little-endian u32, so they read as text in a hex dump. */
    static int magic(String fourChars) {
        return ChecksummedRecord.magic(fourChars);
    }
}
