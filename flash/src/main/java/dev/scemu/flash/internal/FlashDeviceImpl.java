package dev.scemu.flash.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ChecksummedRecord;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.flash.FlashDevice;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.FlashGeometry;
import dev.scemu.flash.FlashStats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@link FlashDevice}: an emulated NOR-like NVRAM flash, pages (the program unit) grouped into
 * erase blocks (the erase unit), with the physics that matter to firmware code.
 *
 * <ul>
 *   <li><b>Program</b> can only clear bits (1→0). Like real NOR, programming a 1 over a 0 leaves
 *       the 0: the page becomes {@code old AND new}. In {@linkplain FlashDevice.Builder#strict strict mode}
 *       such a program fails with {@link FlashError#PROGRAM_WOULD_SET_BITS} and changes nothing.</li>
 *   <li><b>Erase</b> sets a whole erase block to 0xFF and increments its erase count.</li>
 *   <li><b>Endurance</b>: once a block has been erased more than {@linkplain FlashDevice.Builder#endurance
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
 * {@link Media}: off-heap memory, or a memory-mapped file that persists across close and reopen),
 * stored inverted so that a fresh all-zero backing reads as erased flash (0xFF) and an erase is a
 * trim. Erase counts live in the backing's last blocks. Every random choice derives from the
 * seed, so a run replays exactly.
 *
 * <p>Ordering: a program or erase is durable when it returns (written with FUA); a failed one
 * changed nothing, except the operation hit by a power cut, which is torn as described.
 * Thread-safe: operations are serialized.
 */
public final class FlashDeviceImpl implements FlashDevice {

    private static final int MAX_WEAR_BIT_ERRORS = 64;
    private static final int ERASE_COUNT_MAGIC = ChecksummedRecord.magic("SCEC");

    private final String name;
    private final FlashGeometry geometry;
    private final BlockDevice backing;
    private final boolean ownsBacking;
    private final boolean strict;
    private final long endurance;
    private final long seed;
    private final PowerDomain powerDomain;
    private final Random faultRandom;
    private final long dataPages;
    private final int[] eraseCounts;
    private final ByteBuffer pageBuffer;
    private final ByteBuffer countBuffer;

    private final IoMeter meter;
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder pagesProgrammed = new LongAdder();
    private final LongAdder bytesProgrammed = new LongAdder();
    private final LongAdder blocksErased = new LongAdder();

    private long nextOperationIndex;
    private long armedOperationIndex = -1;
    private PowerCutMode armedMode = PowerCutMode.DROP_UNFLUSHED;
    private volatile boolean powered = true;
    private volatile boolean closed;

    /** Use {@link FlashDevice#builder()}. */
    public FlashDeviceImpl(String name, FlashGeometry geometry, BlockDevice backingDevice, boolean ownsBackingDevice,
                           java.nio.file.Path mappedFile, boolean strict, long endurance, long seed,
                           PowerDomain powerDomain) {
        this.name = name;
        this.geometry = geometry;
        this.strict = strict;
        this.endurance = endurance;
        this.seed = seed;
        this.powerDomain = powerDomain;
        this.faultRandom = new Random(seed);
        this.meter = new IoMeter(name);
        this.dataPages = geometry.pageCount();
        long countPages = metadataPages(geometry);
        if (mappedFile != null) {
            this.backing = Media.mappedFile(mappedFile, backingGeometry(geometry));
            this.ownsBacking = true;
        } else if (backingDevice != null) {
            this.backing = backingDevice;
            this.ownsBacking = ownsBackingDevice;
            if (backing.blockSize() != geometry.pageSizeBytes() || backing.blockCount() < dataPages + countPages) {
                throw new FlashException(FlashError.INVALID_ARGUMENT, "backing device " + backing.name() + " of "
                        + backing.geometry() + " does not fit flash " + geometry + " (needs "
                        + (dataPages + countPages) + " blocks of " + geometry.pageSizeBytes() + " B)");
            }
        } else {
            this.backing = Media.memory(name, backingGeometry(geometry));
            this.ownsBacking = true;
        }
        this.pageBuffer = ByteBuffer.allocateDirect(geometry.pageSizeBytes());
        this.countBuffer = ByteBuffer.allocateDirect(geometry.pageSizeBytes()).order(ByteOrder.LITTLE_ENDIAN);
        this.eraseCounts = new int[geometry.eraseBlockCount()];
        loadEraseCounts();
    }

    /** Geometry of a backing device for {@code geometry}: the data pages plus the erase-count pages. */
    public static BlockGeometry backingGeometry(FlashGeometry geometry) {
        return new BlockGeometry(geometry.pageSizeBytes(), geometry.pageCount() + metadataPages(geometry));
    }

    private static long metadataPages(FlashGeometry geometry) {
        int perPage = countsPerPage(geometry.pageSizeBytes());
        return (geometry.eraseBlockCount() + perPage - 1) / perPage;
    }

    /** Erase counts held by one erase-count page (after its 16-byte record header). */
    private static int countsPerPage(int pageSizeBytes) {
        return (pageSizeBytes - ChecksummedRecord.HEADER_BYTES) / Integer.BYTES;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public FlashGeometry geometry() {
        return geometry;
    }

    @Override
    public long seed() {
        return seed;
    }

    @Override
    public boolean isStrict() {
        return strict;
    }

    // ------------------------------------------------------------------ reads

    @Override
    public synchronized void read(long offset, byte[] buffer, int bufferOffset, int length) {
        checkUsable();
        geometry.checkRange(offset, length);
        checkBuffer(buffer, bufferOffset, length);
        int pageSize = geometry.pageSizeBytes();
        long position = offset;
        int done = 0;
        while (done < length) {
            long page = position / pageSize;
            int within = (int) (position % pageSize);
            int chunk = Math.min(length - done, pageSize - within);
            loadPage(page);
            applyWearErrors(page);
            for (int i = 0; i < chunk; i++) {
                buffer[bufferOffset + done + i] = pageBuffer.get(within + i);
            }
            position += chunk;
            done += chunk;
        }
        bytesRead.add(length);
        meter.receivedRead(length);
    }

    @Override
    public byte[] read(long offset, int length) {
        byte[] bytes = new byte[length];
        read(offset, bytes, 0, length);
        return bytes;
    }

    // ------------------------------------------------------------------ program

    @Override
    public synchronized void program(long offset, byte[] data, int dataOffset, int length) {
        checkUsable();
        geometry.checkRange(offset, length);
        checkBuffer(data, dataOffset, length);
        int pageSize = geometry.pageSizeBytes();
        if (strict) {
            checkStrict(offset, data, dataOffset, length);
        }
        long position = offset;
        int done = 0;
        while (done < length) {
            long page = position / pageSize;
            int within = (int) (position % pageSize);
            int chunk = Math.min(length - done, pageSize - within);
            programWithinPage(page, within, data, dataOffset + done, chunk);
            position += chunk;
            done += chunk;
        }
    }

    @Override
    public void program(long offset, byte[] data) {
        program(offset, data, 0, data.length);
    }

    @Override
    public void programPage(long pageIndex, byte[] data) {
        if (pageIndex < 0 || pageIndex >= dataPages) {
            throw new FlashException(FlashError.OUT_OF_RANGE, "page " + pageIndex + " is outside [0, " + dataPages + ")");
        }
        if (data.length > geometry.pageSizeBytes()) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, data.length + " bytes do not fit page "
                    + pageIndex + " of " + geometry.pageSizeBytes() + " bytes");
        }
        program(geometry.offsetOfPage(pageIndex), data, 0, data.length);
    }

    private void checkStrict(long offset, byte[] data, int dataOffset, int length) {
        byte[] current = new byte[length];
        int pageSize = geometry.pageSizeBytes();
        long position = offset;
        int done = 0;
        while (done < length) {
            long page = position / pageSize;
            int within = (int) (position % pageSize);
            int chunk = Math.min(length - done, pageSize - within);
            loadPage(page);
            for (int i = 0; i < chunk; i++) {
                current[done + i] = pageBuffer.get(within + i);
            }
            position += chunk;
            done += chunk;
        }
        for (int i = 0; i < length; i++) {
            int wouldSet = ~current[i] & data[dataOffset + i] & 0xFF;
            if (wouldSet != 0) {
                throw new FlashException(FlashError.PROGRAM_WOULD_SET_BITS, "flash " + name + ": programming byte at offset "
                        + (offset + i) + " from 0x" + hex(current[i]) + " to 0x" + hex(data[dataOffset + i])
                        + " would set bits 0x" + Integer.toHexString(wouldSet) + " (erase block "
                        + geometry.eraseBlockOf(offset + i) + " needs an erase)");
            }
        }
    }

    private void programWithinPage(long page, int within, byte[] data, int dataOffset, int length) {
        boolean cut = numberOperation();
        loadPage(page);
        for (int i = 0; i < length; i++) {
            byte old = pageBuffer.get(within + i);
            byte target = data[dataOffset + i];
            if (cut) {
                // torn: only a seeded subset of the bits that should clear do clear
                target = (byte) (target | faultRandom.nextInt(256));
            }
            pageBuffer.put(within + i, (byte) (old & target));
        }
        storePage(page);
        if (cut) {
            cutPowerNow();
            throw powerLost("program of page " + page);
        }
        pagesProgrammed.increment();
        bytesProgrammed.add(length);
        meter.receivedWrite(length);
        meter.issuedWrite(IoCause.HOST, geometry.pageSizeBytes());
    }

    // ------------------------------------------------------------------ erase

    @Override
    public synchronized void erase(int eraseBlock) {
        checkUsable();
        geometry.checkEraseBlock(eraseBlock);
        boolean cut = numberOperation();
        long firstPage = (long) eraseBlock * geometry.pagesPerEraseBlock();
        if (cut) {
            for (long page = firstPage; page < firstPage + geometry.pagesPerEraseBlock(); page++) {
                loadPage(page);
                for (int i = 0; i < geometry.pageSizeBytes(); i++) {
                    // partially erased: a seeded subset of bits have gone to 1
                    pageBuffer.put(i, (byte) (pageBuffer.get(i) | faultRandom.nextInt(256)));
                }
                storePage(page);
            }
        } else {
            backing.trim(firstPage, geometry.pagesPerEraseBlock());
            backing.flush();
        }
        eraseCounts[eraseBlock]++;
        storeEraseCount(eraseBlock);
        if (cut) {
            cutPowerNow();
            throw powerLost("erase of block " + eraseBlock);
        }
        blocksErased.increment();
    }

    @Override
    public void eraseRange(long offset, long length) {
        geometry.checkRange(offset, length);
        if (length == 0) {
            return;
        }
        int first = geometry.eraseBlockOf(offset);
        int last = geometry.eraseBlockOf(offset + length - 1);
        for (int block = first; block <= last; block++) {
            erase(block);
        }
    }

    @Override
    public synchronized int eraseCount(int eraseBlock) {
        geometry.checkEraseBlock(eraseBlock);
        return eraseCounts[eraseBlock];
    }

    @Override
    public synchronized boolean isWornOut(int eraseBlock) {
        return eraseCount(eraseBlock) > endurance;
    }

    // ------------------------------------------------------------------ faults

    @Override
    public synchronized long operationCount() {
        return nextOperationIndex;
    }

    @Override
    public synchronized void armCutAtOperation(long operationIndex, PowerCutMode mode) {
        if (operationIndex < 0) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "operation index " + operationIndex + " is negative");
        }
        this.armedOperationIndex = operationIndex;
        this.armedMode = mode;
    }

    @Override
    public synchronized void disarm() {
        armedOperationIndex = -1;
    }

    @Override
    public synchronized void cutPower() {
        cutPowerNow();
    }

    @Override
    public synchronized void restorePower() {
        powered = true;
        if (powerDomain != null) {
            powerDomain.restore();
        }
    }

    @Override
    public boolean isPowered() {
        return powered && (powerDomain == null || powerDomain.isPowered());
    }

    @Override
    public synchronized long[] injectRetentionFlips(int bitCount) {
        long[] flipped = new long[bitCount];
        for (int i = 0; i < bitCount; i++) {
            long bit = Math.floorMod(faultRandom.nextLong(), geometry.capacityBytes() * 8);
            flipBit(bit);
            flipped[i] = bit;
        }
        return flipped;
    }

    @Override
    public synchronized void flipBit(long bitOffset) {
        checkOpen();
        geometry.checkRange(bitOffset >>> 3, 1);
        long byteOffset = bitOffset >>> 3;
        long page = byteOffset / geometry.pageSizeBytes();
        int within = (int) (byteOffset % geometry.pageSizeBytes());
        loadPage(page);
        pageBuffer.put(within, (byte) (pageBuffer.get(within) ^ (1 << (bitOffset & 7))));
        storePage(page);
    }

    @Override
    public IoMeter meter() {
        return meter;
    }

    @Override
    public FlashStats stats() {
        long erased = blocksErased.sum();
        return new FlashStats(bytesRead.sum(), pagesProgrammed.sum(), bytesProgrammed.sum(), erased,
                erased * geometry.eraseBlockSizeBytes());
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            if (ownsBacking) {
                backing.close();
            }
        }
    }

    // ------------------------------------------------------------------ internals

    private boolean numberOperation() {
        long index = nextOperationIndex++;
        return index == armedOperationIndex;
    }

    private void cutPowerNow() {
        powered = false;
        armedOperationIndex = -1;
        if (powerDomain != null) {
            powerDomain.cut(armedMode);
        }
    }

    private void loadPage(long page) {
        backing.read(page, 1, pageBuffer, 0);
        for (int i = 0; i < pageBuffer.capacity(); i += 8) {
            pageBuffer.putLong(i, ~pageBuffer.getLong(i));
        }
    }

    private void storePage(long page) {
        for (int i = 0; i < pageBuffer.capacity(); i += 8) {
            pageBuffer.putLong(i, ~pageBuffer.getLong(i));
        }
        backing.write(page, 1, pageBuffer, 0, true);
    }

    private void applyWearErrors(long page) {
        int block = (int) (page / geometry.pagesPerEraseBlock());
        long extraCycles = eraseCounts[block] - endurance;
        if (extraCycles <= 0) {
            return;
        }
        int bits = (int) Math.min(extraCycles, MAX_WEAR_BIT_ERRORS);
        Random wear = new Random(seed ^ (block * 0x9E3779B97F4A7C15L) ^ ((long) eraseCounts[block] << 32));
        long blockBits = (long) geometry.eraseBlockSizeBytes() * 8;
        long pageFirstBit = (page % geometry.pagesPerEraseBlock()) * geometry.pageSizeBytes() * 8L;
        long pageBits = geometry.pageSizeBytes() * 8L;
        for (int i = 0; i < bits; i++) {
            long bit = Math.floorMod(wear.nextLong(), blockBits);
            if (bit >= pageFirstBit && bit < pageFirstBit + pageBits) {
                int within = (int) ((bit - pageFirstBit) >>> 3);
                pageBuffer.put(within, (byte) (pageBuffer.get(within) ^ (1 << (bit & 7))));
            }
        }
    }

    /**
     * Erase-count pages follow the data pages of the backing device; each is one
     * {@link ChecksummedRecord} ("SCEC", version 1) holding u32 counts of consecutive erase
     * blocks. An all-zero page (fresh medium) means zero counts.
     */
    private void loadEraseCounts() {
        int perPage = countsPerPage(geometry.pageSizeBytes());
        for (int block = 0; block < eraseCounts.length; block += perPage) {
            long page = dataPages + block / perPage;
            backing.read(page, 1, countBuffer, 0);
            if (countBuffer.getLong(0) == 0 && countBuffer.getLong(8) == 0) {
                continue;
            }
            try {
                ChecksummedRecord.verify(countBuffer, 0, ERASE_COUNT_MAGIC, 1, 1, geometry.pageSizeBytes(),
                        "erase-count page " + page + " of flash " + name);
            } catch (CoreException e) {
                throw new FlashException(FlashError.CORRUPT_METADATA, e.getMessage(), e);
            }
            for (int i = 0; i < perPage && block + i < eraseCounts.length; i++) {
                eraseCounts[block + i] = countBuffer.getInt(ChecksummedRecord.HEADER_BYTES + i * Integer.BYTES);
            }
        }
    }

    private void storeEraseCount(int eraseBlock) {
        int perPage = countsPerPage(geometry.pageSizeBytes());
        int first = eraseBlock - eraseBlock % perPage;
        int count = Math.min(perPage, eraseCounts.length - first);
        for (int i = 0; i < count; i++) {
            countBuffer.putInt(ChecksummedRecord.HEADER_BYTES + i * Integer.BYTES, eraseCounts[first + i]);
        }
        ChecksummedRecord.seal(countBuffer, 0, ERASE_COUNT_MAGIC, 1, 0,
                ChecksummedRecord.HEADER_BYTES + count * Integer.BYTES);
        backing.write(dataPages + eraseBlock / perPage, 1, countBuffer, 0, true);
        meter.issuedWrite(IoCause.METADATA, geometry.pageSizeBytes());
    }

    private void checkOpen() {
        if (closed) {
            throw new FlashException(FlashError.CLOSED, "flash " + name + " is closed");
        }
    }

    private void checkUsable() {
        checkOpen();
        if (!isPowered()) {
            throw powerLost("operation");
        }
    }

    private FlashException powerLost(String what) {
        return new FlashException(FlashError.POWER_LOST, "flash " + name + " has no power (" + what + ")");
    }

    private static void checkBuffer(byte[] buffer, int bufferOffset, int length) {
        if (buffer == null || bufferOffset < 0 || length < 0 || bufferOffset > buffer.length - length) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, length + " bytes at buffer offset " + bufferOffset
                    + " do not fit a buffer of " + (buffer == null ? "null" : buffer.length + " bytes"));
        }
    }

    private static String hex(byte b) {
        return String.format("%02x", b & 0xFF);
    }

    @Override
    public String toString() {
        return "FlashDevice[" + name + ", " + geometry + (strict ? ", strict" : "") + "]";
    }
}
