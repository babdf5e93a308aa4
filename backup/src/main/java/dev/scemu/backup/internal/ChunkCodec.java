package dev.scemu.backup.internal;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Extent;
import dev.scemu.core.NativeMemory;
import dev.scemu.core.PhaseTrace;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import javax.crypto.AEADBadTagException;
import net.openhft.hashing.LongHashFunction;

/**
 * Per-worker-thread transformer of chunks: zero detection and compaction, zstd, AES-256-GCM,
 * xxHash3 and SHA-256 one way; the checks and inverse transforms the other. Works on the slot's
 * direct buffers only (zstd-jni, OpenSSL and xxHash3 read and write them in place; see
 * {@link ChunkCrypto}). Holds native zstd and OpenSSL contexts; {@link #close()} is idempotent.
 */
public final class ChunkCodec implements AutoCloseable {

    private static final LongHashFunction XXH3 = LongHashFunction.xx3();

    private final int blockSize;
    private final int compressionLevel;
    private final ImageKeys keys;
    private final byte[] imageIdUtf8;
    private final byte[] noncePrefix;
    private final ZstdCompressCtx compressor;
    private final ZstdDecompressCtx decompressor;
    private final ChunkCrypto crypto;
    private final MessageDigest recordSha256 = newSha256();
    private boolean closed;

    /**
     * @param noncePrefix 4 random bytes of this run; the nonce is prefix || u64 sequence, unique
     *     per chunk (sequence) and per run (a resumed backup uses a new prefix)
     */
    ChunkCodec(int blockSize, int compressionLevel, ImageKeys keys, String imageId, byte[] noncePrefix) {
        this.blockSize = blockSize;
        this.compressionLevel = compressionLevel;
        this.keys = keys;
        this.imageIdUtf8 = imageId.getBytes(StandardCharsets.UTF_8);
        this.noncePrefix = noncePrefix;
        this.compressor = new ZstdCompressCtx();
        this.decompressor = new ZstdDecompressCtx();
        if (compressionLevel > 0) {
            compressor.setLevel(compressionLevel);
        }
        this.crypto = ChunkCrypto.create(keys == null ? null : keys.aesKey());
    }

    /** See {@link dev.scemu.backup.BackupEngine#cryptoImplementation()}. */
    public static String cryptoImplementation() {
        return ChunkCrypto.implementation();
    }

    /** See {@link dev.scemu.backup.BackupEngine#warmUp()}. */
    public static void warmUp() {
        try (PhaseTrace.Span span = PhaseTrace.begin("backup: native libraries (OpenSSL, zstd, libargon2)")) {
            ChunkCrypto.implementation(); // libcrypto bound, known-answer comparison with the JDK
            Argon2id.implementation(); // libargon2 bound, compared with BouncyCastle
            new ZstdDecompressCtx().close(); // zstd-jni's library extracted and loaded
            XXH3.hashLong(0);
        }
    }

    /** See {@link dev.scemu.backup.BackupEngine#kdfImplementation()}. */
    public static String kdfImplementation() {
        return Argon2id.implementation();
    }

    static byte[] newNoncePrefix() {
        byte[] prefix = new byte[4];
        new SecureRandom().nextBytes(prefix);
        return prefix;
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    // ---------------------------------------------------------------- backup

    /** Skips zero blocks, compresses, encrypts and hashes the window data in {@code slot.input}. */
    EncodedChunk encode(ChunkSlot slot) {
        ByteBuffer in = slot.input;
        long base = NativeMemory.address(in);
        List<Extent> extents = new ArrayList<>();
        int plain = 0;
        int readOffset = 0;
        long runLba = -1;
        long runBlocks = 0;
        for (Extent piece : slot.pieces) {
            for (long b = 0; b < piece.blockCount(); b++, readOffset += blockSize) {
                if (NativeMemory.isZero(in, readOffset, blockSize)) {
                    continue;
                }
                if (plain != readOffset) {
                    NativeMemory.copy(base + readOffset, base + plain, blockSize);
                }
                plain += blockSize;
                long lba = piece.lba() + b;
                if (runBlocks > 0 && lba == runLba + runBlocks) {
                    runBlocks++;
                } else {
                    if (runBlocks > 0) {
                        extents.add(new Extent(runLba, runBlocks));
                    }
                    runLba = lba;
                    runBlocks = 1;
                }
            }
        }
        if (runBlocks > 0) {
            extents.add(new Extent(runLba, runBlocks));
        }
        long scanned = slot.inputLength;
        if (plain == 0) {
            return new EncodedChunk(slot, slot.sequence, null, null, 0, null, List.of(), 0, scanned);
        }
        int flags = 0;
        ByteBuffer payload = in;
        int payloadLength = plain;
        if (compressionLevel > 0) {
            int compressed = compress(in, plain, slot.work());
            if (compressed > 0 && compressed < plain) {
                payload = slot.work();
                payloadLength = compressed;
                flags |= ArchiveLayout.CHUNK_FLAG_ZSTD;
            }
        }
        byte[] nonce = new byte[ArchiveLayout.GCM_NONCE_BYTES];
        ByteBuffer stored = payload;
        int storedLength = payloadLength;
        if (keys != null) {
            flags |= ArchiveLayout.CHUNK_FLAG_ENCRYPTED;
            System.arraycopy(noncePrefix, 0, nonce, 0, 4);
            for (int i = 0; i < 8; i++) {
                nonce[4 + i] = (byte) (slot.sequence >>> (8 * i));
            }
            ChunkHeader forAad = new ChunkHeader(slot.sequence, flags, plain, 0, nonce, 0, extents);
            stored = slot.output();
            storedLength = crypto.seal(payload, payloadLength, stored, nonce, forAad.additionalData(imageIdUtf8));
        }
        // an encrypted chunk's xxHash3 is never checked (the index's SHA-256 and the GCM tag cover its
        // stored bytes, docs/backup-format.md): it is recorded as 0, not computed
        long xxh3 = keys != null ? 0 : XXH3.hashBytes(stored, 0, storedLength);
        ChunkHeader header = new ChunkHeader(slot.sequence, flags, plain, storedLength, nonce, xxh3, extents);
        byte[] record = header.toRecord();
        return new EncodedChunk(slot, slot.sequence, record, stored, storedLength, crypto.sha256(record, stored, storedLength),
                extents, plain, scanned);
    }

    private int compress(ByteBuffer in, int length, ByteBuffer out) {
        try {
            return compressor.compressDirectByteBuffer(out, 0, out.capacity(), in, 0, length);
        } catch (ZstdException e) {
            return -1; // store raw
        }
    }

    // ---------------------------------------------------------------- restore / verify

    /**
     * The integrity pass of a restore (before its first write): checks the record and stored bytes
     * in {@code slot.input} against the authenticated chunk index (SHA-256).
     * An encrypted chunk is not decrypted: once the index is authenticated (image MAC, keyed by the
     * password), a chunk that passes is byte for byte the chunk its writer sealed, so its tag and
     * decompression cannot fail later. An unencrypted image has no such authentication (anyone can
     * recompute its hashes), so its zstd chunks are decompressed here too (into {@code slot.output()},
     * discarded): a forged one is refused before the first write as well.
     */
    ChunkSlot authenticate(ChunkSlot slot) {
        ChunkHeader h = slot.chunkHeader;
        String what = "chunk " + h.sequence() + " at image offset " + slot.indexEntry.offset();
        checkStored(slot, what, true);
        if (keys != null && (h.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) == 0) {
            throw new BackupException(BackupError.AUTHENTICATION_FAILED, what + " is not encrypted in an encrypted image");
        }
        boolean encrypted = (h.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) != 0;
        if (encrypted) {
            if (keys == null) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, what + " is encrypted in an image without a key");
            }
            if (h.storedLength() < ArchiveLayout.GCM_TAG_BYTES) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": " + h.storedLength()
                        + " stored bytes cannot hold an AES-GCM tag");
            }
        } else if ((h.flags() & ArchiveLayout.CHUNK_FLAG_ZSTD) != 0) {
            decompress(slot.input, h.storedLength(), slot, h, what);
        } else if (h.storedLength() != h.plainLength()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE,
                    what + ": raw payload of " + h.storedLength() + " bytes, expected " + h.plainLength());
        }
        return slot;
    }

    private void checkStored(ChunkSlot slot, String what, boolean checkSha256) {
        ChunkHeader h = slot.chunkHeader;
        int storedLength = h.storedLength();
        if (storedLength > slot.capacity()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": " + storedLength
                    + " stored bytes exceed the chunk buffer of " + slot.capacity() + " bytes");
        }
        if (checkSha256) { // covers the record and the stored bytes: the xxHash3 would add nothing
            if (!MessageDigest.isEqual(crypto.sha256(slot.headerRecord, slot.input, storedLength), slot.indexEntry.sha256())) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": SHA-256 does not match the trailer index");
            }
            return;
        }
        long xxh3 = XXH3.hashBytes(slot.input, 0, storedLength);
        if (xxh3 != h.storedXxh3()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": xxHash3 0x" + Long.toHexString(xxh3)
                    + " of " + storedLength + " stored bytes does not match the recorded 0x" + Long.toHexString(h.storedXxh3()));
        }
    }

    /** SHA-256 of a chunk record: what a restore's decoding pass compares with its integrity pass. */
    byte[] recordDigest(byte[] record) {
        return recordSha256.digest(record);
    }

    /**
     * Checks the stored bytes in {@code slot.input} and decodes them to the plain block data. Not
     * {@code authenticated}: SHA-256 of record and stored bytes against the index, then the GCM
     * tag. {@code authenticated} ({@link #authenticate} passed on the same record, same SHA-256, in
     * this restore): an encrypted chunk is checked by its GCM tag alone (it authenticates the stored
     * bytes under the image key, and the record, whose nonce and additional data it binds, is the
     * one the integrity pass saw), an unencrypted one by the record's xxHash3 of its stored bytes.
     */
    DecodedChunk decode(ChunkSlot slot, boolean authenticated) {
        ChunkHeader h = slot.chunkHeader;
        String what = "chunk " + h.sequence() + " at image offset " + slot.indexEntry.offset();
        if (!authenticated || keys == null || (h.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) == 0) {
            checkStored(slot, what, !authenticated);
        } else if (h.storedLength() > slot.capacity()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": " + h.storedLength()
                    + " stored bytes exceed the chunk buffer of " + slot.capacity() + " bytes");
        }
        ByteBuffer stored = slot.input;
        int storedLength = h.storedLength();
        ByteBuffer payload = stored;
        int payloadLength = storedLength;
        if (keys != null && (h.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) == 0) {
            throw new BackupException(BackupError.AUTHENTICATION_FAILED, what + " is not encrypted in an encrypted image");
        }
        if ((h.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) != 0) {
            payload = slot.work();
            payloadLength = decrypt(stored, storedLength, payload, h, what);
        }
        if ((h.flags() & ArchiveLayout.CHUNK_FLAG_ZSTD) != 0) {
            decompress(payload, payloadLength, slot, h, what);
            return new DecodedChunk(slot, h, slot.output());
        }
        if (payloadLength != h.plainLength()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE,
                    what + ": raw payload of " + payloadLength + " bytes, expected " + h.plainLength());
        }
        return new DecodedChunk(slot, h, payload);
    }

    /** Decompresses {@code payloadLength} bytes of {@code payload} into {@code slot.output()}: exactly {@code plainLength}. */
    private void decompress(ByteBuffer payload, int payloadLength, ChunkSlot slot, ChunkHeader h, String what) {
        if (h.plainLength() > slot.output().capacity()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": plain length " + h.plainLength()
                    + " exceeds the chunk buffer of " + slot.output().capacity() + " bytes");
        }
        int size;
        try {
            size = decompressor.decompressDirectByteBuffer(slot.output(), 0, h.plainLength(), payload, 0, payloadLength);
        } catch (ZstdException e) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": zstd payload of " + payloadLength
                    + " bytes does not decompress: " + e.getMessage(), e);
        }
        if (size != h.plainLength()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE,
                    what + ": decompressed " + size + " bytes, expected " + h.plainLength());
        }
    }

    private int decrypt(ByteBuffer stored, int storedLength, ByteBuffer out, ChunkHeader h, String what) {
        if (keys == null) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + " is encrypted in an image without a key");
        }
        try {
            return crypto.open(stored, storedLength, out, h.nonce(), h.additionalData(imageIdUtf8));
        } catch (AEADBadTagException e) {
            throw new BackupException(BackupError.AUTHENTICATION_FAILED, what + ": AES-GCM tag does not verify "
                    + "(tampered, or moved from another place or image)", e);
        }
    }

    /** Whether {@link #close()} ran (its native contexts are freed). */
    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        compressor.close();
        decompressor.close();
        crypto.close();
    }
}
