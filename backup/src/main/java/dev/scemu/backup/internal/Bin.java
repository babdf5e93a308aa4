package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Extent;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Little-endian encoding of record payloads: a growable writer and a bounds-checked reader. */
final class Bin {

    private Bin() {
    }

    /** Appends little-endian fields to a growable heap buffer. */
    static final class Writer {
        private ByteBuffer buffer;

        Writer(int initialCapacity) {
            buffer = ByteBuffer.allocate(Math.max(16, initialCapacity)).order(ByteOrder.LITTLE_ENDIAN);
        }

        private void ensure(int more) {
            if (buffer.remaining() < more) {
                int capacity = Math.max(buffer.capacity() * 2, buffer.position() + more);
                ByteBuffer bigger = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
                buffer.flip();
                bigger.put(buffer);
                buffer = bigger;
            }
        }

        Writer u8(int value) {
            ensure(1);
            buffer.put((byte) value);
            return this;
        }

        Writer u16(int value) {
            ensure(2);
            buffer.putShort((short) value);
            return this;
        }

        Writer u32(int value) {
            ensure(4);
            buffer.putInt(value);
            return this;
        }

        Writer u64(long value) {
            ensure(8);
            buffer.putLong(value);
            return this;
        }

        Writer bytes(byte[] value) {
            ensure(value.length);
            buffer.put(value);
            return this;
        }

        /** u16 byte length + UTF-8 bytes. */
        Writer string(String value) {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            if (utf8.length > 0xFFFF) {
                throw new BackupException(BackupError.INVALID_ARGUMENT,
                        "string of " + utf8.length + " UTF-8 bytes is longer than 65535");
            }
            u16(utf8.length);
            return bytes(utf8);
        }

        /** u64 count + count × (u64 lba, u64 blockCount). */
        Writer extents(List<Extent> extents) {
            u64(extents.size());
            for (Extent extent : extents) {
                u64(extent.lba()).u64(extent.blockCount());
            }
            return this;
        }

        int length() {
            return buffer.position();
        }

        byte[] toArray() {
            return Arrays.copyOf(buffer.array(), buffer.position());
        }
    }

    /** Reads little-endian fields; running past the end is a corrupt record. */
    static final class Reader {
        private final ByteBuffer buffer;
        private final String what;

        Reader(byte[] bytes, String what) {
            this.buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            this.what = what;
        }

        private void need(long count) {
            if (count < 0 || count > buffer.remaining()) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": field of " + count + " bytes at payload offset "
                        + buffer.position() + " runs past the payload of " + buffer.limit() + " bytes");
            }
        }

        int u8() {
            need(1);
            return buffer.get() & 0xFF;
        }

        int u16() {
            need(2);
            return buffer.getShort() & 0xFFFF;
        }

        int u32() {
            need(4);
            return buffer.getInt();
        }

        long u64() {
            need(8);
            return buffer.getLong();
        }

        byte[] bytes(int count) {
            need(count);
            byte[] value = new byte[count];
            buffer.get(value);
            return value;
        }

        String string() {
            int length = u16();
            return new String(bytes(length), StandardCharsets.UTF_8);
        }

        List<Extent> extents() {
            long count = u64();
            need(count * 16);
            List<Extent> extents = new ArrayList<>((int) count);
            for (long i = 0; i < count; i++) {
                extents.add(extent(u64(), u64()));
            }
            return extents;
        }

        Extent extent(long lba, long blockCount) {
            if (lba < 0 || blockCount <= 0 || lba + blockCount < lba) {
                throw new BackupException(BackupError.CORRUPT_IMAGE,
                        what + ": invalid extent lba=" + lba + " blockCount=" + blockCount);
            }
            return new Extent(lba, blockCount);
        }

        int remaining() {
            return buffer.remaining();
        }

        void expectEnd() {
            if (buffer.hasRemaining()) {
                throw new BackupException(BackupError.CORRUPT_IMAGE,
                        what + ": " + buffer.remaining() + " unexpected bytes after the last field");
            }
        }
    }
}
