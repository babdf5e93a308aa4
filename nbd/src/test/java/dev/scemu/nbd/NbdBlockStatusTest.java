package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_BLOCK_STATUS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_CACHE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_FAST_ZERO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_REQ_ONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_EINVAL;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_ENOTSUP;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_CACHE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FAST_ZERO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_SET_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STRUCTURED_REPLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_INVALID;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_UNKNOWN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_STATE_HOLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_STATE_ZERO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.Allocation;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.nbd.NbdTestClient.Extent;
import dev.scemu.nbd.NbdTestClient.OptionReply;
import dev.scemu.nbd.internal.NbdProtocol;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Metadata contexts and {@code NBD_CMD_BLOCK_STATUS} with {@code base:allocation} against the
 * protocol document: LIST and SET (structured replies first, export names, queries), the
 * selection bound to its export, descriptors clipped to the request and merged, REQ_ONE, the
 * descriptor cap, garbage answered {@code NBD_REP_ERR_INVALID} without changing the selection,
 * plus {@code NBD_CMD_CACHE} and {@code NBD_CMD_FLAG_FAST_ZERO}.
 */
class NbdBlockStatusTest extends NbdTestSupport {

    private static final int HOLE = NBD_STATE_HOLE | NBD_STATE_ZERO;
    private static final int FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

    @TempDir
    Path dir;

    /** A sparse file of 1 MiB (4 KiB blocks): holes where nothing was written. */
    private BlockDevice sparseFile(String name) {
        return track(Media.directFile(dir.resolve(name + ".img"), new BlockGeometry(BLOCK_BYTES, BLOCKS)));
    }

    /** Greets, negotiates structured replies and returns the client in option haggling. */
    private NbdTestClient haggling(NbdServer server) throws Exception {
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);
        assertThat(client.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ACK);
        client.structuredReplies = true;
        return client;
    }

    private static void enter(NbdTestClient client, String export) throws Exception {
        List<OptionReply> go = client.go(NBD_OPT_GO, export);
        assertThat(go.get(go.size() - 1).type()).isEqualTo(NBD_REP_ACK);
    }

    private static String contextName(OptionReply reply) {
        return new String(reply.data(), 4, reply.data().length - 4, StandardCharsets.UTF_8);
    }

    private static int contextId(OptionReply reply) {
        return ByteBuffer.wrap(reply.data()).getInt();
    }

    @Test
    void listAndSetFollowTheSpec() throws Exception {
        NbdServer server = start(loopback().export("a", memory("a")).export("b", memory("b")));
        NbdTestClient plain = track(NbdTestClient.tcp(server.port()));
        plain.greet(FLAGS);
        assertThat(plain.metaContext(NBD_OPT_LIST_META_CONTEXT, NbdTestClient.metaContextData("a")).get(0).type())
                .as("structured replies first").isEqualTo(NBD_REP_ERR_INVALID);

        NbdTestClient client = haggling(server);
        for (String[] queries : new String[][] {{}, {"base:"}, {NbdProtocol.BASE_ALLOCATION}, {"x-foo:bar", "base:"}}) {
            List<OptionReply> list = client.metaContext(NBD_OPT_LIST_META_CONTEXT, NbdTestClient.metaContextData("a", queries));
            assertThat(list).hasSize(2);
            assertThat(list.get(0).type()).isEqualTo(NBD_REP_META_CONTEXT);
            assertThat(contextName(list.get(0))).isEqualTo("base:allocation");
            assertThat(contextId(list.get(0))).as("LIST ids are reserved: zero").isZero();
            assertThat(list.get(1).type()).isEqualTo(NBD_REP_ACK);
        }
        assertThat(client.metaContext(NBD_OPT_LIST_META_CONTEXT, NbdTestClient.metaContextData("a", "x-foo:"))
                .get(0).type()).as("nothing found: a lone ACK").isEqualTo(NBD_REP_ACK);
        assertThat(client.metaContext(NBD_OPT_SET_META_CONTEXT, NbdTestClient.metaContextData("nope", "base:allocation"))
                .get(0).type()).isEqualTo(NBD_REP_ERR_UNKNOWN);
        List<OptionReply> namespaceOnly = client.metaContext(NBD_OPT_SET_META_CONTEXT,
                NbdTestClient.metaContextData("a", "base:"));
        assertThat(namespaceOnly).extracting(OptionReply::type).as("SET of a namespace selects nothing")
                .containsExactly(NBD_REP_ACK);
        List<OptionReply> set = client.metaContext(NBD_OPT_SET_META_CONTEXT,
                NbdTestClient.metaContextData("", "base:allocation", "base:allocation"));
        assertThat(set).extracting(OptionReply::type).containsExactly(NBD_REP_META_CONTEXT, NBD_REP_ACK);
        assertThat(contextId(set.get(0))).isEqualTo(NbdProtocol.BASE_ALLOCATION_ID);
        enter(client, "a"); // "" is the default export, "a"
        assertThat(client.transmissionFlags & (NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_FAST_ZERO))
                .isEqualTo(NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_FAST_ZERO);
        assertThat(client.blockStatus(0, BLOCKS * BLOCK_BYTES, 0)).isNotEmpty();
    }

    @Test
    void theSelectionBelongsToTheExportItNamedAndBlockStatusNeedsIt() throws Exception {
        NbdServer server = start(loopback().export("a", memory("a")).export("b", memory("b")));
        NbdTestClient other = haggling(server);
        assertThat(other.metaContext(NBD_OPT_SET_META_CONTEXT, NbdTestClient.metaContextData("a", "base:allocation")))
                .hasSize(2);
        enter(other, "b");
        assertThat(other.request(NBD_CMD_BLOCK_STATUS, 0, 0, BLOCK_BYTES, null).error()).isEqualTo(NBD_EINVAL);
        assertThat(other.read(0, 16)).as("the connection goes on").isEqualTo(new byte[16]);

        NbdTestClient none = structuredClient(server, "a");
        NbdTestClient.Reply reply = none.request(NBD_CMD_BLOCK_STATUS, 0, 0, BLOCK_BYTES, null);
        assertThat(reply.error()).isEqualTo(NBD_EINVAL);
        assertThat(reply.message()).contains("NBD_OPT_SET_META_CONTEXT");
    }

    @Test
    void descriptorsDescribeTheSparseFileClippedMergedAndLimited() throws Exception {
        BlockDevice disk = sparseFile("disk");
        writeDevice(disk, 10, random(1, 3 * BLOCK_BYTES));
        writeDevice(disk, 200, random(2, BLOCK_BYTES));
        NbdServer server = start(loopback().export("disk", disk));
        NbdTestClient client = haggling(server);
        client.metaContext(NBD_OPT_SET_META_CONTEXT, NbdTestClient.metaContextData("disk", "base:allocation"));
        enter(client, "disk");

        long size = BLOCKS * BLOCK_BYTES;
        assertThat(client.blockStatus(0, size, 0)).containsExactly(new Extent(10L * BLOCK_BYTES, HOLE),
                new Extent(3L * BLOCK_BYTES, 0), new Extent(187L * BLOCK_BYTES, HOLE), new Extent(BLOCK_BYTES, 0),
                new Extent(55L * BLOCK_BYTES, HOLE));
        // unaligned: a block's state holds for each of its bytes; never past the request
        assertThat(client.blockStatus(10L * BLOCK_BYTES - 100, 3L * BLOCK_BYTES + 150, 0)).containsExactly(
                new Extent(100, HOLE), new Extent(3L * BLOCK_BYTES, 0), new Extent(50, HOLE));
        assertThat(client.blockStatus(0, size, NBD_CMD_FLAG_REQ_ONE)).containsExactly(new Extent(10L * BLOCK_BYTES, HOLE));
        assertThat(client.blockStatus(11L * BLOCK_BYTES, 5, NBD_CMD_FLAG_REQ_ONE)).containsExactly(new Extent(5, 0));

        assertThat(client.request(NBD_CMD_BLOCK_STATUS, 0, size - 1, 2, null).error()).as("past the end").isEqualTo(NBD_EINVAL);
        assertThat(client.request(NBD_CMD_BLOCK_STATUS, 0, 0, 0, null).error()).as("length 0").isEqualTo(NBD_EINVAL);
        assertThat(client.request(NBD_CMD_READ, NBD_CMD_FLAG_REQ_ONE, 0, 16, null).error()).isEqualTo(NBD_EINVAL);
        // the export changes: the next query sees it
        client.write(100L * BLOCK_BYTES, random(3, BLOCK_BYTES), 0);
        assertThat(client.blockStatus(100L * BLOCK_BYTES, BLOCK_BYTES, 0)).containsExactly(new Extent(BLOCK_BYTES, 0));
    }

    @Test
    void aLongAlternatingMapIsCutAtTheDescriptorLimit() throws Exception {
        BlockDevice disk = track(new AlternatingDevice(Media.memory("alt", new BlockGeometry(512, 20_000))));
        NbdServer server = start(loopback().export("alt", disk));
        NbdTestClient client = haggling(server);
        client.metaContext(NBD_OPT_SET_META_CONTEXT, NbdTestClient.metaContextData("alt", "base:allocation"));
        enter(client, "alt");
        List<Extent> extents = client.blockStatus(0, 20_000L * 512, 0);
        assertThat(extents).hasSize(8192);
        for (int i = 0; i < extents.size(); i++) {
            assertThat(extents.get(i)).isEqualTo(new Extent(512, i % 2 == 0 ? 0 : NBD_STATE_ZERO));
        }
        // the client continues from where the reply ended
        assertThat(client.blockStatus(8192L * 512, 512, 0)).containsExactly(new Extent(512, 0));
    }

    @Test
    void garbageInTheNewOptionsIsInvalidAndChangesNothing() throws Exception {
        BlockDevice disk = sparseFile("g");
        NbdServer server = start(loopback().export("g", disk));
        NbdTestClient client = haggling(server);
        assertThat(client.metaContext(NBD_OPT_SET_META_CONTEXT, NbdTestClient.metaContextData("g", "base:allocation")))
                .hasSize(2);
        byte[] valid = NbdTestClient.metaContextData("g", "base:allocation");
        byte[] badUtf8 = NbdTestClient.metaContextData("g", "base:allocation");
        badUtf8[badUtf8.length - 1] = (byte) 0xff;
        byte[] nul = NbdTestClient.metaContextData("g", "base:allocatio\0");
        byte[] countTooLarge = valid.clone();
        ByteBuffer.wrap(countTooLarge).putInt(4 + 1, 1000); // query count after the 1-byte name
        byte[] nameTooLong = ByteBuffer.allocate(8).putInt(5000).putInt(0).array();
        byte[] trailing = java.util.Arrays.copyOf(valid, valid.length + 3);
        for (byte[] garbage : new byte[][] {new byte[0], new byte[3], java.util.Arrays.copyOf(valid, valid.length - 1),
                badUtf8, nul, countTooLarge, nameTooLong, trailing}) {
            for (int option : new int[] {NBD_OPT_SET_META_CONTEXT, NBD_OPT_LIST_META_CONTEXT}) {
                List<OptionReply> replies = client.metaContext(option, garbage);
                assertThat(replies).extracting(OptionReply::type).containsExactly(NBD_REP_ERR_INVALID);
                assertThat(new String(replies.get(0).data(), StandardCharsets.UTF_8)).contains("META_CONTEXT");
            }
        }
        enter(client, "g");
        assertThat(client.blockStatus(0, BLOCK_BYTES, 0)).as("the earlier selection stands")
                .containsExactly(new Extent(BLOCK_BYTES, HOLE));
        assertThat(deviceBytes(disk, 0, BLOCK_BYTES)).isEqualTo(new byte[BLOCK_BYTES]);
        assertThatThrownBy(() -> client.blockStatus(0, BLOCK_BYTES, 0x40)).hasMessageContaining("error " + NBD_EINVAL);
    }

    @Test
    void cacheIsAnsweredAndFastZeroRefusedWithoutTouchingTheDevice() throws Exception {
        BlockDevice disk = memory("z");
        byte[] data = random(9, BLOCK_BYTES);
        writeDevice(disk, 0, data);
        NbdServer server = start(loopback().export("z", disk));
        NbdTestClient client = structuredClient(server, "z");
        assertThat(client.request(NBD_CMD_CACHE, 0, 0, BLOCKS * BLOCK_BYTES, null).error()).isZero();
        assertThat(client.request(NBD_CMD_CACHE, 0, BLOCKS * BLOCK_BYTES, 1, null).error()).isEqualTo(NBD_EINVAL);
        assertThat(client.writeZeroes(0, BLOCK_BYTES, NBD_CMD_FLAG_FAST_ZERO)).isEqualTo(NBD_ENOTSUP);
        assertThat(deviceBytes(disk, 0, BLOCK_BYTES)).isEqualTo(data);
        assertThat(client.writeZeroes(0, BLOCK_BYTES, 0)).isZero();
        assertThat(deviceBytes(disk, 0, BLOCK_BYTES)).isEqualTo(new byte[BLOCK_BYTES]);
        assertThat(server.stats().requests(NbdCommand.CACHE)).isEqualTo(2);
    }

    /** A memory device whose map alternates DATA and ZERO every block. */
    static final class AlternatingDevice extends ForwardingBlockDevice {

        AlternatingDevice(BlockDevice inner) {
            super(inner.name() + "-alternating", inner, true);
        }

        @Override
        public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
            for (long b = lba; b < lba + blockCount; b++) {
                if (!sink.extent(b, 1, b % 2 == 0 ? Allocation.DATA : Allocation.ZERO)) {
                    return;
                }
            }
        }
    }
}
