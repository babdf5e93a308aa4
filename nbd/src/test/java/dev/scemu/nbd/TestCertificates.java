package dev.scemu.nbd;


import dev.scemu.nbd.internal.TlsCredentials;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * X.509 test credentials made at test time with the {@code openssl} command (never committed), laid
 * out as nbdkit, qemu and libnbd expect:
 *
 * <pre>
 *   server/     ca-cert.pem server-cert.pem server-key.pem   (certificate for IP 127.0.0.1 and localhost)
 *   client/     ca-cert.pem client-cert.pem client-key.pem   (client certificate from the same CA)
 *   rogue/      ca-cert.pem client-cert.pem client-key.pem   (trusts the server, certificate from another CA)
 *   anonymous/  ca-cert.pem                                   (trusts the server, no client certificate)
 * </pre>
 * EC P-256 keys (fast to make), PKCS#8 as OpenSSL 3 writes them.
 */
final class TestCertificates {

    final Path server;
    final Path client;
    final Path rogue;
    final Path anonymous;

    private TestCertificates(Path root) {
        this.server = root.resolve("server");
        this.client = root.resolve("client");
        this.rogue = root.resolve("rogue");
        this.anonymous = root.resolve("anonymous");
    }

    static void assumeOpenssl() {
        dev.scemu.core.RequiredTool.require("openssl", "openssl"); // makes the test certificates
    }

    static TestCertificates generate(Path root) throws IOException, InterruptedException {
        assumeOpenssl();
        TestCertificates certs = new TestCertificates(root);
        Path work = Files.createDirectories(root.resolve("work"));
        for (Path dir : List.of(certs.server, certs.client, certs.rogue, certs.anonymous)) {
            Files.createDirectories(dir);
        }
        Path ca = certificateAuthority(work, "ca", "scemu test CA");
        Path rogueCa = certificateAuthority(work, "rogue-ca", "scemu rogue CA");
        leaf(work, ca, "server", "/CN=localhost",
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        leaf(work, ca, "client", "/CN=scemu test client", "extendedKeyUsage=clientAuth\n");
        leaf(work, rogueCa, "rogue", "/CN=scemu rogue client", "extendedKeyUsage=clientAuth\n");
        Path caCert = work.resolve("ca-cert.pem");
        for (Path dir : List.of(certs.server, certs.client, certs.rogue, certs.anonymous)) {
            Files.copy(caCert, dir.resolve("ca-cert.pem"));
        }
        Files.copy(work.resolve("server-cert.pem"), certs.server.resolve("server-cert.pem"));
        Files.copy(work.resolve("server-key.pem"), certs.server.resolve("server-key.pem"));
        Files.copy(work.resolve("client-cert.pem"), certs.client.resolve("client-cert.pem"));
        Files.copy(work.resolve("client-key.pem"), certs.client.resolve("client-key.pem"));
        Files.copy(work.resolve("rogue-cert.pem"), certs.rogue.resolve("client-cert.pem"));
        Files.copy(work.resolve("rogue-key.pem"), certs.rogue.resolve("client-key.pem"));
        return certs;
    }

    /** A JSSE client context trusting {@code dir}'s CA, with its client certificate if it has one. */
    static SSLContext clientContext(Path dir) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        int i = 0;
        for (Certificate ca : TlsCredentials.certificates(dir.resolve("ca-cert.pem"))) {
            trusted.setCertificateEntry("ca-" + i++, ca);
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        KeyManagerFactory keys = null;
        if (Files.exists(dir.resolve("client-cert.pem"))) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("client", TlsCredentials.privateKey(dir.resolve("client-key.pem")), new char[0],
                    TlsCredentials.certificates(dir.resolve("client-cert.pem")).toArray(Certificate[]::new));
            keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, new char[0]);
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), new SecureRandom());
        return context;
    }

    private static Path certificateAuthority(Path work, String name, String commonName)
            throws IOException, InterruptedException {
        openssl(work, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + "-key.pem", "-out", name + "-cert.pem", "-days", "2", "-subj", "/CN=" + commonName,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        return work.resolve(name);
    }

    private static void leaf(Path work, Path ca, String name, String subject, String extensions)
            throws IOException, InterruptedException {
        Files.writeString(work.resolve(name + ".ext"), extensions
                + "keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n");
        openssl(work, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", subject);
        String caName = ca.getFileName().toString();
        openssl(work, "x509", "-req", "-in", name + ".csr", "-CA", caName + "-cert.pem", "-CAkey", caName + "-key.pem",
                "-set_serial", "0x" + Long.toHexString(new SecureRandom().nextLong() & Long.MAX_VALUE), "-days", "2",
                "-out", name + "-cert.pem", "-extfile", name + ".ext");
    }

    private static void openssl(Path work, String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add("openssl");
        command.addAll(List.of(arguments));
        Path log = Files.createTempFile(work, "openssl", ".log");
        Process process = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish");
        }
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed:\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
    }
}
