package dev.scemu.backup.internal;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Extent;
import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import net.openhft.hashing.LongHashFunction;

/**
 * Per-worker-thread transformer of chunks: zero detection and compaction, zstd, AES-256-GCM,
 * xxHash3 and SHA-256 one way; the checks and inverse transforms the other. Holds native zstd
 * contexts; {@link #close()} is idempotent.
 */
final class ChunkCodec implements AutoCloseable {

    private static final LongHashFunction XXH3 = LongHashFunction.xx3();

    private final int blockSize;
    private final int compressionLevel;
    private final ImageKeys keys;
    private final byte[] imageIdUtf8;
    private final byte[] noncePrefix;
    private final ZstdCompressCtx compressor;
    private final ZstdDecompressCtx decompressor;
    private final Cipher cipher;
    private final MessageDigest sha256;
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
        try {
            this.cipher = keys == null ? null : Cipher.getInstance("AES/GCM/NoPadding");
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM or SHA-256 is not available", e);
        }
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
                if (isZero(in, readOffset, blockSize)) {
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
            int compressed = compress(in, plain, slot.work);
            if (compressed > 0 && compressed < plain) {
                payload = slot.work;
                payloadLength = compressed;
                flags |= ArchiveLayout.CHUNK_FLAG_ZSTD;
            }
        }
        payload.get(0, slot.heapIn, 0, payloadLength);
        byte[] nonce = new byte[ArchiveLayout.GCM_NONCE_BYTES];
        byte[] stored = slot.heapIn;
        int storedLength = payloadLength;
        if (keys != null) {
            flags |= ArchiveLayout.CHUNK_FLAG_ENCRYPTED;
            System.arraycopy(noncePrefix, 0, nonce, 0, 4);
            for (int i = 0; i < 8; i++) {
                nonce[4 + i] = (byte) (slot.sequence >>> (8 * i));
            }
            ChunkHeader forAad = new ChunkHeader(slot.sequence, flags, plain, 0, nonce, 0, extents);
            storedLength = encrypt(slot.heapIn, payloadLength, slot.heapOut, nonce, forAad.additionalData(imageIdUtf8));
            stored = slot.heapOut;
        }
        long xxh3 = XXH3.hashBytes(stored, 0, storedLength);
        ChunkHeader header = new ChunkHeader(slot.sequence, flags, plain, storedLength, nonce, xxh3, extents);
        byte[] record = header.toRecord();
        sha256.reset();
        sha256.update(record);
        sha256.update(stored, 0, storedLength);
        return new EncodedChunk(slot, slot.sequence, record, ByteBuffer.wrap(stored), storedLength, sha256.digest(),
                extents, plain, scanned);
    }

    private int compress(ByteBuffer in, int length, ByteBuffer out) {
        try {
            return compressor.compressDirectByteBuffer(out, 0, out.capacity(), in, 0, length);
        } catch (ZstdException e) {
            return -1; // store raw
        }
    }

    private int encrypt(byte[] payload, int length, byte[] out, byte[] nonce, byte[] aad) {
        try {
            cipher.init(Cipher.ENCRYPT_MODE, keys.aesKey(), new GCMParameterSpec(ArchiveLayout.GCM_TAG_BYTES * 8, nonce));
            cipher.updateAAD(aad);
            return cipher.doFinal(payload, 0, length, out, 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /** Whether {@code length} bytes at {@code offset} are all zero. */
    static boolean isZero(ByteBuffer buffer, int offset, int length) {
        int end = offset + length;
        for (int i = offset; i < end; i += 64) {
            long or = buffer.getLong(i) | buffer.getLong(i + 8) | buffer.getLong(i + 16) | buffer.getLong(i + 24)
                    | buffer.getLong(i + 32) | buffer.getLong(i + 40) | buffer.getLong(i + 48) | buffer.getLong(i + 56);
            if (or != 0) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- restore / verify

    /**
     * Checks the stored bytes in {@code slot.input} (xxHash3, SHA-256 against the index, GCM tag)
     * and decodes them to the plain block data.
     */
    DecodedChunk decode(ChunkSlot slot) {
        ChunkHeader h = slot.chunkHeader;
        String what = "chunk " + h.sequence() + " at image offset " + slot.indexEntry.offset();
        int storedLength = h.storedLength();
        byte[] stored = slot.heapIn;
        long xxh3 = XXH3.hashBytes(stored, 0, storedLength);
        if (xxh3 != h.storedXxh3()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": xxHash3 0x" + Long.toHexString(xxh3)
                    + " of " + storedLength + " stored bytes does not match the recorded 0x" + Long.toHexString(h.storedXxh3()));
        }
        sha256.reset();
        sha256.update(slot.headerRecord);
        sha256.update(stored, 0, storedLength);
        if (!MessageDigest.isEqual(sha256.digest(), slot.indexEntry.sha256())) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": SHA-256 does not match the trailer index");
        }
        byte[] payload = stored;
        int payloadLength = storedLength;
        if (keys != null && (h.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) == 0) {
            throw new BackupException(BackupError.AUTHENTICATION_FAILED, what + " is not encrypted in an encrypted image");
        }
        if ((h.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) != 0) {
            payloadLength = decrypt(slot, h, what);
            payload = slot.heapOut;
        }
        if ((h.flags() & ArchiveLayout.CHUNK_FLAG_ZSTD) != 0) {
            int size;
            try {
                size = decompressor.decompressByteArrayToDirectByteBuffer(slot.output, 0, h.plainLength(), payload, 0,
                        payloadLength);
            } catch (ZstdException e) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": zstd payload of " + payloadLength
                        + " bytes does not decompress: " + e.getMessage(), e);
            }
            if (size != h.plainLength()) {
                throw new BackupException(BackupError.CORRUPT_IMAGE,
                        what + ": decompressed " + size + " bytes, expected " + h.plainLength());
            }
            return new DecodedChunk(slot, h, slot.output);
        }
        if (payloadLength != h.plainLength()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE,
                    what + ": raw payload of " + payloadLength + " bytes, expected " + h.plainLength());
        }
        slot.output.put(0, payload, 0, payloadLength);
        return new DecodedChunk(slot, h, slot.output);
    }

    private int decrypt(ChunkSlot slot, ChunkHeader h, String what) {
        if (keys == null) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + " is encrypted in an image without a key");
        }
        try {
            cipher.init(Cipher.DECRYPT_MODE, keys.aesKey(), new GCMParameterSpec(ArchiveLayout.GCM_TAG_BYTES * 8, h.nonce()));
            cipher.updateAAD(h.additionalData(imageIdUtf8));
            return cipher.doFinal(slot.heapIn, 0, h.storedLength(), slot.heapOut, 0);
        } catch (AEADBadTagException e) {
            throw new BackupException(BackupError.AUTHENTICATION_FAILED, what + ": AES-GCM tag does not verify "
                    + "(tampered, or moved from another place or image)", e);
        } catch (GeneralSecurityException e) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": AES-GCM decryption failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        compressor.close();
        decompressor.close();
    }
}
