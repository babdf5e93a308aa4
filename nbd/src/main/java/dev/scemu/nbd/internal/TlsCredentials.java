package dev.scemu.nbd.internal;

import dev.scemu.nbd.NbdError;
import dev.scemu.nbd.NbdException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * X.509 credentials of a TLS-enabled server, loaded from a directory laid out as nbdkit's and
 * qemu's {@code --tls-certificates}/{@code tls-creds-x509} directories:
 *
 * <pre>
 *   ca-cert.pem       CA certificate(s) that signed the clients' certificates (needed to verify peers)
 *   server-cert.pem   the server's certificate, optionally followed by its intermediate CAs
 *   server-key.pem    the server's private key: PKCS#8 ("BEGIN PRIVATE KEY", RSA, EC or EdDSA)
 *                     or PKCS#1 RSA ("BEGIN RSA PRIVATE KEY", certtool's format); not encrypted
 * </pre>
 *
 * TLS 1.3 and 1.2 only (the NBD spec: MUST support 1.2, SHOULD NOT offer older versions by
 * default). With {@code verifyPeer} the client must present a certificate that chains to a CA of
 * {@code ca-cert.pem}, else the TLS handshake fails and the connection is closed.
 */
public final class TlsCredentials {

    public static final String CA_CERT = "ca-cert.pem";
    public static final String SERVER_CERT = "server-cert.pem";
    public static final String SERVER_KEY = "server-key.pem";
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

    private final SSLContext context;
    private final boolean verifyPeer;
    private final String description;

    private TlsCredentials(SSLContext context, boolean verifyPeer, String description) {
        this.context = context;
        this.verifyPeer = verifyPeer;
        this.description = description;
    }

    /**
     * Loads the credentials of {@code directory}.
     *
     * @throws NbdException {@code INVALID_CONFIGURATION} naming the file that is missing or unreadable
     */
    public static TlsCredentials load(Path directory, boolean verifyPeer) {
        Path certFile = directory.resolve(SERVER_CERT);
        Path keyFile = directory.resolve(SERVER_KEY);
        Path caFile = directory.resolve(CA_CERT);
        try {
            List<X509Certificate> chain = certificates(certFile);
            PrivateKey key = privateKey(keyFile);
            char[] password = new char[0];
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("server", key, password, chain.toArray(Certificate[]::new));
            KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keyManagers.init(keys, password);
            TrustManagerFactory trustManagers = null;
            if (verifyPeer) {
                if (!Files.isRegularFile(caFile)) {
                    throw invalid(caFile, "is missing; it is needed to verify client certificates");
                }
                KeyStore trusted = KeyStore.getInstance("PKCS12");
                trusted.load(null, null);
                int i = 0;
                for (X509Certificate ca : certificates(caFile)) {
                    trusted.setCertificateEntry("ca-" + i++, ca);
                }
                trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trustManagers.init(trusted);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers.getKeyManagers(), trustManagers == null ? null : trustManagers.getTrustManagers(),
                    new SecureRandom());
            return new TlsCredentials(context, verifyPeer, "X.509 " + chain.get(0).getSubjectX500Principal()
                    + (verifyPeer ? ", client certificates verified against " + caFile : ""));
        } catch (IOException | GeneralSecurityException e) {
            throw new NbdException(NbdError.INVALID_CONFIGURATION, "cannot load TLS credentials from " + directory
                    + ": " + e.getMessage(), e);
        }
    }

    public String description() {
        return description;
    }

    /**
     * Runs the server side of a TLS handshake over a connected, blocking TCP channel and returns the
     * TLS socket layered on it (closing it closes the channel).
     *
     * @throws IOException if the handshake fails (bad or missing client certificate, no common protocol)
     */
    SSLSocket handshake(SocketChannel channel) throws IOException {
        Socket plain = channel.socket();
        // server mode, layered over the connected socket; nothing of the TLS stream was read before
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain, null, true);
        tls.setEnabledProtocols(PROTOCOLS);
        tls.setNeedClientAuth(verifyPeer);
        tls.startHandshake();
        return tls;
    }

    // ---------------------------------------------------------------- PEM

    /** Every certificate of a PEM file, in order. */
    public static List<X509Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
        requireFile(file);
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        List<X509Certificate> result = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file)) {
            for (Certificate certificate : factory.generateCertificates(in)) {
                result.add((X509Certificate) certificate);
            }
        }
        if (result.isEmpty()) {
            throw invalid(file, "holds no certificate");
        }
        return result;
    }

    /** The first private key of a PEM file (PKCS#8, or PKCS#1 RSA). */
    public static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
        requireFile(file);
        Matcher pem = PEM.matcher(Files.readString(file, StandardCharsets.US_ASCII));
        while (pem.find()) {
            String type = pem.group(1);
            if (!type.endsWith("PRIVATE KEY")) {
                continue;
            }
            byte[] der = Base64.getMimeDecoder().decode(pem.group(2));
            switch (type) {
                case "PRIVATE KEY":
                    return pkcs8(file, der);
                case "RSA PRIVATE KEY":
                    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(rsaPkcs1ToPkcs8(der)));
                default:
                    throw invalid(file, "holds a '" + type + "', which is not supported (encrypted or SEC1 keys):"
                            + " convert it with 'openssl pkcs8 -topk8 -nocrypt -in KEY -out " + SERVER_KEY + "'");
            }
        }
        throw invalid(file, "holds no PEM private key");
    }

    private static PrivateKey pkcs8(Path file, byte[] der) throws GeneralSecurityException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new GeneralSecurityException(file + " holds a PKCS#8 key of an algorithm that is not supported"
                + " (RSA, EC, Ed25519, Ed448 are)");
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (version 0, rsaEncryption, NULL parameters). */
    private static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
        byte[] version = {0x02, 0x01, 0x00};
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
            0x01, 0x01, 0x05, 0x00};
        byte[] octets = der(0x04, pkcs1);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(version);
        body.writeBytes(algorithm);
        body.writeBytes(octets);
        return der(0x30, body.toByteArray());
    }

    private static byte[] der(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int length = content.length;
        if (length < 0x80) {
            out.write(length);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(length >>> (8 * i));
            }
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static void requireFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + " is missing");
        }
    }

    private static IOException invalid(Path file, String what) {
        return new IOException(file + " " + what);
    }
}
