package dev.scemu.nbd;

import static dev.scemu.nbd.Processes.assumeInstalled;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients over TLS (GnuTLS inside nbdinfo/nbdcopy from libnbd-bin and qemu-io from
 * qemu-utils) against the server's JSSE TLS, with certificates made at test time by openssl.
 */
@Timeout(180)
class RealTlsClientsTest extends NbdTestSupport {

    private static final int MIB = 1 << 20;

    @TempDir
    static Path certificateRoot;
    static TestCertificates certs;

    @TempDir
    Path tempDir;

    @BeforeAll
    static void makeCertificates() throws Exception {
        certs = TestCertificates.generate(certificateRoot);
    }

    private BlockDevice device(String name, int sizeBytes) {
        return track(Media.memory(name, BlockGeometry.ofBytes(BLOCK_BYTES, sizeBytes)));
    }

    private static String tlsUri(NbdServer server, String export, Path clientDir) {
        return "nbds://127.0.0.1:" + server.port() + "/" + export + "?tls-certificates=" + clientDir;
    }

    @Test
    void nbdinfoAndNbdcopyOverTlsAndAPlainClientIsRefused() throws Exception {
        assumeInstalled("nbdinfo", "libnbd-bin");
        assumeInstalled("nbdcopy", "libnbd-bin");
        BlockDevice source = device("source", 8 * MIB);
        byte[] content = new byte[8 * MIB];
        System.arraycopy(random(7, 3 * MIB), 0, content, MIB, 3 * MIB);
        writeDevice(source, 0, content);
        NbdServer server = start(loopback().export("source", source, "over TLS", false)
                .tls(NbdTlsMode.REQUIRE, certs.server));

        Processes.Result size = Processes.run(tempDir, "nbdinfo", "--size", tlsUri(server, "source", certs.anonymous));
        Processes.Result list = Processes.run(tempDir, "nbdinfo", "--list",
                "nbds://127.0.0.1:" + server.port() + "/?tls-certificates=" + certs.anonymous);
        Path copy = tempDir.resolve("copy.img");
        Processes.Result nbdcopy = Processes.run(tempDir, "nbdcopy", tlsUri(server, "source", certs.anonymous),
                copy.toString());
        Processes.Result plain = Processes.run(tempDir, "nbdinfo", "--size",
                "nbd://127.0.0.1:" + server.port() + "/source");

        assertThat(size.exitCode()).as(size.output()).isZero();
        assertThat(size.output().trim()).isEqualTo(String.valueOf(8 * MIB));
        assertThat(list.exitCode()).as(list.output()).isZero();
        assertThat(list.output()).contains("source", "over TLS");
        assertThat(nbdcopy.exitCode()).as(nbdcopy.output()).isZero();
        assertThat(Files.readAllBytes(copy)).isEqualTo(content);
        assertThat(plain.exitCode()).as(plain.output()).isNotZero();
        assertThat(plain.output()).containsIgnoringCase("TLS");
        assertThat(server.stats().tlsSessions()).isGreaterThanOrEqualTo(3);
    }

    @Test
    void qemuIoWritesAndReadsOverTlsWithAClientCertificate() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        BlockDevice disk = device("disk", 4 * MIB);
        NbdServer server = start(loopback().export("disk", disk).tls(NbdTlsMode.REQUIRE, certs.server)
                .tlsVerifyPeer(true));

        Processes.Result io = Processes.run(tempDir, "qemu-io",
                "--object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + certs.client,
                "--image-opts", "driver=nbd,host=127.0.0.1,port=" + server.port() + ",export=disk,tls-creds=tls0",
                "-c", "write -P 0x3c 4096 1M", "-c", "read -P 0x3c 4096 1M", "-c", "flush");

        assertThat(io.exitCode()).as(io.output()).isZero();
        assertThat(io.output()).doesNotContain("failed").doesNotContain("Pattern verification");
        byte[] expected = new byte[MIB];
        Arrays.fill(expected, (byte) 0x3c);
        assertThat(deviceBytes(disk, 4096, MIB)).isEqualTo(expected);
        assertThat(server.stats().tlsSessions()).isEqualTo(1);
    }

    @Test
    void clientsWithoutACertificateOfTheCaAreRefusedWhenPeersAreVerified() throws Exception {
        assumeInstalled("nbdinfo", "libnbd-bin");
        NbdServer server = start(loopback().export("disk", device("disk", MIB)).tls(NbdTlsMode.REQUIRE, certs.server)
                .tlsVerifyPeer(true));

        Processes.Result rogue = Processes.run(tempDir, "nbdinfo", "--size", tlsUri(server, "disk", certs.rogue));
        Processes.Result anonymous = Processes.run(tempDir, "nbdinfo", "--size",
                tlsUri(server, "disk", certs.anonymous));
        Processes.Result good = Processes.run(tempDir, "nbdinfo", "--size", tlsUri(server, "disk", certs.client));

        assertThat(rogue.exitCode()).as(rogue.output()).isNotZero();
        assertThat(anonymous.exitCode()).as(anonymous.output()).isNotZero();
        assertThat(good.exitCode()).as(good.output()).isZero();
        assertThat(good.output().trim()).isEqualTo(String.valueOf(MIB));
        awaitState(() -> server.stats().tlsFailures() == 2, "two refused TLS handshakes", 10_000);
        assertThat(server.stats().tlsSessions()).isEqualTo(1);
    }
}
