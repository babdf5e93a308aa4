package dev.scemu.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class NbdServerConfigTest extends NbdTestSupport {

    @TempDir
    Path tempDir;

    @Test
    void rejectsConfigurationsThatCannotServe() {
        BlockDevice disk = memory("disk");
        assertThatThrownBy(() -> loopback().build())
                .isInstanceOf(NbdException.class).hasMessageContaining("no export");
        assertThatThrownBy(() -> NbdServer.builder().export("disk", disk).build())
                .hasMessageContaining("no listener");
        assertThatThrownBy(() -> loopback().export("disk", disk).export("disk", disk))
                .hasMessageContaining("'disk' is defined twice");
        assertThatThrownBy(() -> loopback().export("a\0b", disk))
                .hasMessageContaining("NUL");
        assertThatThrownBy(() -> loopback().export("x".repeat(4097), disk))
                .hasMessageContaining("4097 bytes");
        assertThatThrownBy(() -> loopback().maxRequestBytes(1000))
                .satisfies(e -> assertThat(((NbdException) e).code()).isEqualTo(NbdError.INVALID_CONFIGURATION));
        assertThatThrownBy(() -> NbdServer.builder().bindTcp(InetAddress.getLoopbackAddress(), 70000))
                .hasMessageContaining("70000");
        assertThatThrownBy(() -> loopback().maxHandshakes(0)).hasMessageContaining("max handshakes 0");
        assertThatThrownBy(() -> loopback().handshakeTimeout(java.time.Duration.ZERO))
                .hasMessageContaining("handshake timeout PT0S");
    }

    @Test
    void startsOnceAndReportsItsPortOnlyWhenListening() {
        NbdServer server = track(loopback().export("disk", memory("disk")).build());
        assertThatThrownBy(server::port).satisfies(e ->
                assertThat(((NbdException) e).code()).isEqualTo(NbdError.WRONG_STATE));
        server.start();
        assertThat(server.port()).isPositive();
        assertThatThrownBy(server::start).hasMessageContaining("already started");
        assertThat(server.exports()).extracting(NbdExport::name).containsExactly("disk");
    }

    @Test
    void refusesToBindOverAnExistingFile() throws Exception {
        Path taken = Files.createFile(tempDir.resolve("taken.sock"));
        NbdServer.Builder builder = NbdServer.builder().export("disk", memory("disk")).bindUnix(taken);
        assertThatThrownBy(builder::start)
                .satisfies(e -> assertThat(((NbdException) e).code()).isEqualTo(NbdError.BIND_FAILED))
                .hasMessageContaining(taken.toString());
        assertThat(taken).exists();
    }

    @Test
    void replacesTheSocketFileADeadServerLeftButNotALiveOne() throws Exception {
        // what kill -9 of a server leaves: a socket file nobody listens on (closing a channel does not unlink it)
        Path stale = tempDir.resolve("stale.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(stale));
        }
        assertThat(stale).exists();
        NbdServer server = track(NbdServer.builder().export("disk", memory("disk")).bindUnix(stale).build()).start();
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(stale))) {
            assertThat(client.isConnected()).isTrue();
        }
        NbdServer.Builder second = NbdServer.builder().export("disk", memory("disk2")).bindUnix(stale);
        assertThatThrownBy(second::start)
                .satisfies(e -> assertThat(((NbdException) e).code()).isEqualTo(NbdError.BIND_FAILED))
                .hasMessageContaining("another server is listening");
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(stale))) {
            assertThat(client.isConnected()).as("the live server keeps its socket").isTrue();
        }
        server.close();
        assertThat(stale).doesNotExist();
    }

    @Test
    void refusesToBindOverADirectoryNamingWhy() throws Exception {
        Path directory = Files.createDirectory(tempDir.resolve("dir"));
        assertThatThrownBy(NbdServer.builder().export("disk", memory("disk")).bindUnix(directory)::start)
                .satisfies(e -> assertThat(((NbdException) e).code()).isEqualTo(NbdError.BIND_FAILED))
                .hasMessageContaining("exists and is not a socket");
        assertThat(directory).isDirectory();
    }

    @Test
    void readOnlyDevicesMakeReadOnlyExports() {
        BlockDevice disk = memory("disk");
        assertThat(new NbdExport("a", disk, null, false).isReadOnly()).isFalse();
        assertThat(new NbdExport("a", disk, null, true).isReadOnly()).isTrue();
        assertThat(new NbdExport("a", disk, null, false).description()).isEmpty();
    }
}
