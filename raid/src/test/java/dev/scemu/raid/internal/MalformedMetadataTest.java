package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RaidLevel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Regressions found by the testkit decoder fuzzer: malformed md metadata is a RaidException, never an index error. */
class MalformedMetadataTest {

    private static final int BLOCK = 4096;

    private static List<BlockDevice> cleanMirror() {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            members.add(Media.memory("m" + i, BlockGeometry.ofBytes(BLOCK, 2 << 20)));
        }
        RaidArray.create(RaidConfig.builder(RaidLevel.RAID1).name("r").bitmap(true).setUuid(new UUID(1, 2))
                .assumeClean(true).build(), members).stop();
        return members;
    }

    private static byte[] superblockOf(BlockDevice member) {
        return MetadataIo.read(member, MdSuperblockLayout.SUPER_OFFSET_BYTES, MdSuperblockLayout.SUPERBLOCK_BYTES);
    }

    private static void assertNoSuperblock(Runnable decode) {
        assertThatThrownBy(decode::run).isInstanceOf(RaidException.class)
                .extracting(e -> ((RaidException) e).code()).isEqualTo(RaidError.NO_SUPERBLOCK);
    }

    @Test
    void rejectsTruncatedSuperblock() {
        byte[] sb = superblockOf(cleanMirror().get(0));
        assertNoSuperblock(() -> MdSuperblock.decode(Arrays.copyOf(sb, 39), "m0"));
        assertNoSuperblock(() -> MdSuperblock.decode(Arrays.copyOf(sb, MdSuperblockLayout.OFF_DEV_ROLES + 1), "m0"));
    }

    @Test
    void rejectsTruncatedBitmap() {
        byte[] bitmap = MetadataIo.read(cleanMirror().get(0), MdMetadata.BITMAP_START_BYTES, 4096);
        MdBitmapLayout.Header header = MdBitmapLayout.decodeHeader(bitmap, "m0");
        assertNoSuperblock(() -> MdBitmapLayout.decodeHeader(Arrays.copyOf(bitmap, 198), "m0"));
        assertNoSuperblock(() -> MdBitmapLayout.decodeBits(Arrays.copyOf(bitmap, 198), header.bitCount()));
    }

    @Test
    void rejectsBitmapChunkOfZeroBytes() {
        byte[] bitmap = MetadataIo.read(cleanMirror().get(0), MdMetadata.BITMAP_START_BYTES, 4096);
        ByteBuffer.wrap(bitmap).order(ByteOrder.LITTLE_ENDIAN).putInt(MdBitmapLayout.OFF_CHUNKSIZE, 0);
        assertNoSuperblock(() -> MdBitmapLayout.decodeHeader(bitmap, "m0"));
    }

    @Test
    void assemblyRejectsBitmapReservingMoreThanTheRoomBeforeData() {
        List<BlockDevice> members = cleanMirror();
        for (BlockDevice member : members) {
            byte[] bitmap = MetadataIo.read(member, MdMetadata.BITMAP_START_BYTES, MdBitmapLayout.HEADER_BYTES);
            ByteBuffer.wrap(bitmap).order(ByteOrder.LITTLE_ENDIAN).putInt(MdBitmapLayout.OFF_SECTORS_RESERVED, 0xFFFF);
            MetadataIo.write(member, MdMetadata.BITMAP_START_BYTES, bitmap);
        }
        assertNoSuperblock(() -> RaidArray.assemble(members));
    }

    @Test
    void assemblyRejectsSuperblocksOfZeroRaidDisks() {
        List<BlockDevice> members = cleanMirror();
        for (BlockDevice member : members) {
            MdSuperblock sb = MdSuperblock.decode(superblockOf(member), member.name());
            sb.raidDisks = 0;
            MetadataIo.write(member, MdSuperblockLayout.SUPER_OFFSET_BYTES, sb.encode());
        }
        assertThatThrownBy(() -> RaidArray.assemble(members)).isInstanceOf(RaidException.class)
                .hasMessageContaining("raid_disks 0")
                .extracting(e -> ((RaidException) e).code()).isEqualTo(RaidError.MEMBER_GEOMETRY);
    }

    @Test
    void assemblyRejectsSuperblocksLargerThanTheirMember() {
        List<BlockDevice> members = cleanMirror();
        for (BlockDevice member : members) {
            MdSuperblock sb = MdSuperblock.decode(superblockOf(member), member.name());
            sb.sizeSectors = 1L << 40;
            MetadataIo.write(member, MdSuperblockLayout.SUPER_OFFSET_BYTES, sb.encode());
        }
        assertThatThrownBy(() -> RaidArray.assemble(members)).isInstanceOf(RaidException.class)
                .extracting(e -> ((RaidException) e).code()).isEqualTo(RaidError.MEMBER_GEOMETRY);
    }
}
