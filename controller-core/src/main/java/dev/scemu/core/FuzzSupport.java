package dev.scemu.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Helpers of the decoder fuzz tests every module runs with {@link Fuzzer}: the iteration scale
 * ({@code -Dscemu.fuzz.scale}, default 1; the soak profile sets 100), the grep-able {@code FUZZ:}
 * report line, byte images of block devices, and re-sealing of checksummed records so that
 * mutations reach the checks behind the checksum. Beside {@link Fuzzer} in controller-core so that
 * modules below testkit (flash, snapshot, backup) use the one copy.
 */
public final class FuzzSupport {

    private FuzzSupport() {
    }

    /** {@code base} iterations times {@code scemu.fuzz.scale}. */
    public static int iterations(int base) {
        String scale = System.getProperty("scemu.fuzz.scale", "1").trim();
        long scaled = (long) base * Math.max(1, Integer.parseInt(scale.isEmpty() ? "1" : scale));
        return (int) Math.min(Integer.MAX_VALUE, scaled);
    }

    /** Sum of several runs against the same decoder (raw and re-sealed mutations). */
    public static Fuzzer.Report combine(Fuzzer.Report... reports) {
        int cases = 0;
        int clean = 0;
        int rejected = 0;
        Map<Fuzzer.Mutation, Integer> byMutation = new EnumMap<>(Fuzzer.Mutation.class);
        for (Fuzzer.Report r : reports) {
            cases += r.iterations();
            clean += r.decodedCleanly();
            rejected += r.rejected();
            r.byMutation().forEach((m, n) -> byMutation.merge(m, n, Integer::sum));
        }
        return new Fuzzer.Report(cases, clean, rejected, byMutation);
    }

    /** Prints {@code FUZZ: <decoder> cases=N clean=N rejected=N} and returns the report. */
    public static Fuzzer.Report print(String decoder, Fuzzer.Report report) {
        System.out.println("FUZZ: " + decoder + " cases=" + report.iterations() + " clean=" + report.decodedCleanly()
                + " rejected=" + report.rejected());
        return report;
    }

    /** A memory device holding {@code bytes} (a multiple of the block size). */
    public static BlockDevice deviceOf(String name, int blockSize, byte[] bytes) {
        BlockDevice device = Media.memory(name, BlockGeometry.ofBytes(blockSize, bytes.length));
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        device.write(0, bytes.length / blockSize, buffer, 0);
        return device;
    }

    /** Every byte of {@code device}. */
    public static byte[] contentsOf(BlockDevice device) {
        ByteBuffer all = ByteBuffer.allocateDirect((int) device.geometry().capacityBytes());
        device.read(0, (int) device.blockCount(), all, 0);
        byte[] bytes = new byte[all.capacity()];
        all.get(0, bytes);
        return bytes;
    }

    /** {@code image} with {@code region} copied over {@code [offset, offset + regionLength)} (a shorter region leaves zeros). */
    public static byte[] overlay(byte[] image, int offset, int regionLength, byte[] region) {
        byte[] out = image.clone();
        Arrays.fill(out, offset, offset + regionLength, (byte) 0);
        System.arraycopy(region, 0, out, offset, Math.min(region.length, regionLength));
        return out;
    }

    /**
     * Recomputes the CRC-32C of every controller-core checksummed record (16-byte header: magic,
     * version, flags, length, crc32c) that starts at a multiple of {@code stride} in {@code bytes}
     * and whose magic is one of {@code magics} and whose length fits; other bytes are unchanged.
     */
    public static byte[] resealRecords(byte[] bytes, int stride, int... magics) {
        byte[] out = bytes.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        for (long next = 0; next + 16 <= out.length; next += stride) {
            int at = (int) next;
            int magic = b.getInt(at);
            if (Arrays.stream(magics).noneMatch(m -> m == magic)) {
                continue;
            }
            long length = Integer.toUnsignedLong(b.getInt(at + 8));
            if (length < 16 || length > out.length - at) {
                continue;
            }
            b.putInt(at + 12, crc32c(out, at, (int) length));
        }
        return out;
    }

    /** CRC-32C of a checksummed record with its crc field taken as zero. */
    public static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, 12);
        crc.update(new byte[4]);
        crc.update(bytes, offset + 16, length - 16);
        return (int) crc.getValue();
    }

    /** The magic of four ASCII characters as controller-core stores it (first character lowest). */
    public static int magic(String fourChars) {
        return ChecksummedRecord.magic(fourChars);
    }
}
