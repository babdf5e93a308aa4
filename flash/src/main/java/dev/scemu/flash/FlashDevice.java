package dev.scemu.flash;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.flash.internal.FlashDeviceImpl;
import java.nio.file.Path;

/**
 * An emulated NOR-like NVRAM flash: pages (the program unit) grouped into erase blocks (the erase
 * unit), with the physics that matter to firmware code. Not a {@link BlockDevice}: it has its own
 * API, because flash is not rewritable in place. Built by {@link #builder()}.
 *
 * <ul>
 *   <li><b>Program</b> can only clear bits (1→0). Like real NOR, programming a 1 over a 0 leaves
 *       the 0: the page becomes {@code old AND new}. In {@linkplain Builder#strict strict mode}
 *       such a program fails with {@link FlashError#PROGRAM_WOULD_SET_BITS} and changes nothing.</li>
 *   <li><b>Erase</b> sets a whole erase block to 0xFF and increments its erase count.</li>
 *   <li><b>Endurance</b>: once a block has been erased more than {@linkplain Builder#endurance
 *       endurance} times, reads of it show seeded bit errors, one more per extra cycle (up to 64);
 *       the stored data is intact, the reads are wrong (a worn cell reads unreliably).</li>
 *   <li><b>Retention</b>: {@link #injectRetentionFlips} flips seeded random stored bits (bit rot).</li>
 *   <li><b>Power cut</b>: every page program and every erase gets an <em>operation index</em>
 *       from 0. {@link #armCutAtOperation} makes operation {@code k} fail with
 *       {@link FlashError#POWER_LOST}, leaving a torn page (a seeded subset of the bits that
 *       should have been cleared are cleared) or a partially erased block (a seeded subset of
 *       bits are set to 1). A device built with a {@link PowerDomain} shares its power: a flash
 *       cut cuts the whole domain (the disks lose unflushed writes), and a domain cut makes the
 *       flash refuse I/O until the domain's power is restored.</li>
 * </ul>
 *
 * <p>Storage: the contents live in a backing {@link BlockDevice} of page-sized blocks (from
 * {@link Media}: off-heap memory, or a memory-mapped file that persists across close and reopen).
 * Every random choice derives from the seed, so a run replays exactly.
 *
 * <p>Ordering: a program or erase is durable when it returns; a failed one changed nothing, except
 * the operation hit by a power cut, which is torn as described. Thread-safe: operations are
 * serialized. Offsets and lengths count bytes from flash byte 0 unless a name says pages or
 * erase blocks.
 */
public interface FlashDevice extends AutoCloseable {

    /** A builder; every setting has a default (16 MiB of 4 KiB pages in off-heap memory, seed 1). */
    static Builder builder() {
        return new Builder();
    }

    /** Geometry of a backing device for {@code geometry}: the data pages plus the erase-count pages. */
    static BlockGeometry backingGeometry(FlashGeometry geometry) {
        return FlashDeviceImpl.backingGeometry(geometry);
    }

    String name();

    FlashGeometry geometry();

    long seed();

    boolean isStrict();

    /** Reads {@code length} bytes at flash {@code offset} into {@code buffer} at {@code bufferOffset}. */
    void read(long offset, byte[] buffer, int bufferOffset, int length);

    /** Reads {@code length} bytes at {@code offset} into a new array. */
    byte[] read(long offset, int length);

    /**
     * Programs {@code length} bytes of {@code data} from {@code dataOffset} at flash {@code offset}:
     * each byte becomes {@code old AND new}. A range spanning pages is one page program per page,
     * in order (each its own operation index).
     */
    void program(long offset, byte[] data, int dataOffset, int length);

    /** Programs {@code data} at flash {@code offset}. */
    void program(long offset, byte[] data);

    /** Programs page {@code pageIndex} from its first byte with {@code data} (at most one page). */
    void programPage(long pageIndex, byte[] data);

    /** Erases {@code eraseBlock}: every byte reads 0xFF afterwards; its erase count grows by one. */
    void erase(int eraseBlock);

    /** Erases every erase block touched by {@code [offset, offset+length)}. */
    void eraseRange(long offset, long length);

    /** How many times {@code eraseBlock} has been erased (persistent). */
    int eraseCount(int eraseBlock);

    /** Whether {@code eraseBlock} has exceeded its endurance (its reads show bit errors). */
    boolean isWornOut(int eraseBlock);

    /** Operations (page programs and erases) numbered so far; the next one gets this index. */
    long operationCount();

    /**
     * Cuts power when operation {@code operationIndex} arrives: it is torn and fails with
     * {@link FlashError#POWER_LOST}; the power domain (if any) is cut with {@code mode}.
     */
    void armCutAtOperation(long operationIndex, PowerCutMode mode);

    /** Cancels an armed cut. */
    void disarm();

    /** Cuts power now (and to the whole power domain, if any). */
    void cutPower();

    /** Restores power (and to the power domain, if any). */
    void restorePower();

    boolean isPowered();

    /**
     * Flips {@code bitCount} seeded-random stored bits (retention loss): the change persists and
     * every later read sees it. Returns the flipped bits as bit offsets from flash byte 0.
     */
    long[] injectRetentionFlips(int bitCount);

    /** Flips stored bit {@code bitOffset} (counted from flash byte 0, bit 0 = least significant). */
    void flipBit(long bitOffset);

    /**
     * The I/O meter: reads and programs received (logical bytes), page writes issued to the
     * backing (HOST: one page per page program) and erase-count pages (METADATA).
     */
    IoMeter meter();

    FlashStats stats();

    /** Closes the device; the backing device is closed too if this device created or owns it. Idempotent. */
    @Override
    void close();

    /** Builder of a {@link FlashDevice}; every setting has a default. */
    final class Builder {
        private String name = "flash";
        private FlashGeometry geometry = FlashGeometry.defaults();
        private BlockDevice backing;
        private boolean ownsBacking = true;
        private boolean strict;
        private long endurance = 100_000;
        private long seed = 1;
        private PowerDomain powerDomain;
        private Path mappedFile;

        private Builder() {
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder geometry(FlashGeometry geometry) {
            this.geometry = geometry;
            return this;
        }

        /** Convenience: page size, pages per erase block and erase-block count. */
        public Builder geometry(int pageSizeBytes, int pagesPerEraseBlock, int eraseBlockCount) {
            return geometry(new FlashGeometry(pageSizeBytes, pagesPerEraseBlock, eraseBlockCount));
        }

        /**
         * Stores the contents in {@code device} (blocks of the page size, at least
         * {@link FlashDevice#backingGeometry} of them), for example a memory-mapped file from
         * {@link Media}; a device that already holds flash contents is reopened as it is. Without
         * this the flash lives in off-heap memory.
         *
         * @param owns whether closing the flash closes the device
         */
        public Builder backing(BlockDevice device, boolean owns) {
            this.backing = device;
            this.ownsBacking = owns;
            return this;
        }

        /**
         * Keeps the flash in a memory-mapped file at {@code path} (created sparse if missing, else
         * reopened with its contents and erase counts): the NVRAM survives close and a process
         * restart. The file length is the {@link FlashDevice#backingGeometry} capacity.
         */
        public Builder mappedFile(Path path) {
            this.mappedFile = path;
            return this;
        }

        /** Strict mode: a program that would set a 0 bit to 1 fails instead of ANDing. */
        public Builder strict(boolean strict) {
            this.strict = strict;
            return this;
        }

        /** Erase cycles a block endures before its reads show bit errors (default 100,000). */
        public Builder endurance(long eraseCycles) {
            if (eraseCycles < 0) {
                throw new FlashException(FlashError.INVALID_ARGUMENT, "endurance " + eraseCycles + " is negative");
            }
            this.endurance = eraseCycles;
            return this;
        }

        /** Seed of every random choice (torn bits, wear errors, retention flips). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Shares power with the disks of {@code domain}: a cut of either side cuts both. */
        public Builder powerDomain(PowerDomain domain) {
            this.powerDomain = domain;
            return this;
        }

        /** The device, opened over its backing (a backing that does not fit fails with {@link FlashError#INVALID_ARGUMENT}). */
        public FlashDevice build() {
            return new FlashDeviceImpl(name, geometry, backing, ownsBacking, mappedFile, strict, endurance, seed,
                    powerDomain);
        }
    }
}
