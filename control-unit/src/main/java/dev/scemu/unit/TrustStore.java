package dev.scemu.unit;

import dev.scemu.flash.TrustedKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * The unit's trust roots: the Ed25519 public keys whose firmware images it boots, recovers and
 * installs. Every image the firmware manager reads — the flash image at boot, the backup copy it
 * recovers from, a staged update — must be signed by one of them ({@link TrustedKeys}, shared with
 * the manager, so a change applies to the next verification).
 *
 * <p>Where the first key comes from ({@link Origin}):
 * <ul>
 *   <li>{@link Origin#VENDOR}: the vendor's public key, given to {@code create}
 *       ({@code scemu create --vendor-key FILE.pub --firmware IMAGE}); the vendor keeps the private key;</li>
 *   <li>{@link Origin#TEST_KEY}: no vendor key, default firmware: a key pair generated at
 *       {@code create} from {@link java.security.SecureRandom}; its private key stays in the unit
 *       directory ({@value #TEST_KEY_FILE}, mode 0600) for signing test images;</li>
 *   <li>{@link Origin#SIMULATION}: simulation mode only: the key derived from the seed, which anyone
 *       who knows the seed can sign with.</li>
 * </ul>
 * Rotation adds keys ({@link Origin#ADDED}) and removes keys; the last key cannot be removed
 * (a unit that trusts nothing boots nothing). The control unit also refuses to remove the key of
 * the running image unless forced ({@link StorageControlUnit#distrustKey}).
 *
 * <h2>File {@value #FILE}</h2>
 * UTF-8 text, one key per line, {@code #} starts a comment line:
 * <pre>
 * # scemu trust store ...
 * ORIGIN BASE64
 * </pre>
 * {@code ORIGIN} is {@code vendor}, {@code test-key}, {@code simulation}, {@code added} or
 * {@code legacy}; {@code BASE64} is the key's X.509 SubjectPublicKeyInfo encoding (the body of its
 * PEM {@code PUBLIC KEY}), whose SHA-256 is the key's fingerprint and an image's KEYHASH. Each
 * change rewrites the whole file atomically. A unit created before trust stores existed has
 * {@value #LEGACY_FILE} (one base64 key, derived from its seed): it is read as one
 * {@link Origin#LEGACY} key and converted on the first change.
 *
 * <p>Thread-safe: changes are serialized on this object.
 */
public final class TrustStore {

    /** The trust store file in a unit directory. */
    public static final String FILE = "trusted-keys";
    /** The single-key file of units created before trust stores existed. */
    static final String LEGACY_FILE = "trusted-key.pub";
    /** The private key of a unit's generated test key, in its directory (PEM PKCS#8, mode 0600). */
    public static final String TEST_KEY_FILE = "test-signing-key.pem";
    /** The shortest fingerprint prefix {@link #find} accepts. */
    public static final int MIN_PREFIX = 8;

    /** Where a trusted key came from. */
    public enum Origin {
        /** The vendor's public key, given at create. */
        VENDOR("vendor", "vendor key"),
        /** A key pair generated at create (no vendor key given); the private key is in the unit directory. */
        TEST_KEY("test-key", "test key generated at create"),
        /** Derived from the simulation seed: not secret. */
        SIMULATION("simulation", "simulation key derived from the seed (not secret)"),
        /** Added later ({@code firmware trust add}). */
        ADDED("added", "added key"),
        /** The one key of a unit created by an older scemu (derived from its seed). */
        LEGACY("legacy", "key of a unit created before trust stores (derived from its seed)");

        private final String token;
        private final String description;

        Origin(String token, String description) {
            this.token = token;
            this.description = description;
        }

        /** How {@code status} names it. */
        public String description() {
            return description;
        }

        static Origin of(String token, Path file) {
            for (Origin origin : values()) {
                if (origin.token.equals(token)) {
                    return origin;
                }
            }
            throw new UnitException(UnitError.TRUST_STORE, file + ": unknown key origin '" + token + "'");
        }
    }

    /** One trusted key. */
    public record Entry(PublicKey key, Origin origin) {
        /** SHA-256 of the key's X.509 encoding, 64 hex digits (= an image's KEYHASH). */
        public String fingerprint() {
            return TrustedKeys.fingerprint(key);
        }

        @Override
        public String toString() {
            return origin.description() + " " + fingerprint();
        }
    }

    private final Path directory;
    private final TrustedKeys trustedKeys;
    private List<Entry> entries;

    private TrustStore(Path directory, List<Entry> entries) {
        this.directory = directory;
        this.entries = List.copyOf(entries);
        this.trustedKeys = TrustedKeys.rotatable(keysOf(entries));
    }

    /** A new store holding {@code root}; persisted in {@code directory} unless that is null (a memory unit). */
    static TrustStore create(Path directory, Entry root) {
        TrustStore store = new TrustStore(directory, List.of(root));
        store.save();
        return store;
    }

    /** The store of the unit in {@code directory}. */
    static TrustStore load(Path directory) {
        Path file = directory.resolve(FILE);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return loadLegacy(directory);
        } catch (IOException e) {
            throw new UnitException(UnitError.TRUST_STORE, "cannot read " + file + ": " + e.getMessage());
        }
        List<Entry> entries = new ArrayList<>();
        int lineNumber = 0;
        for (String line : text.split("\n", -1)) {
            lineNumber++;
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            String[] fields = trimmed.split("\\s+");
            if (fields.length != 2) {
                throw new UnitException(UnitError.TRUST_STORE, file + " line " + lineNumber
                        + ": expected 'ORIGIN BASE64-KEY', found " + fields.length + " fields");
            }
            entries.add(new Entry(decode(fields[1], file + " line " + lineNumber), Origin.of(fields[0], file)));
        }
        if (entries.isEmpty()) {
            throw new UnitException(UnitError.TRUST_STORE, file + " holds no key: the unit trusts no firmware");
        }
        return new TrustStore(directory, entries);
    }

    private static TrustStore loadLegacy(Path directory) {
        Path legacy = directory.resolve(LEGACY_FILE);
        try {
            PublicKey key = decode(Files.readString(legacy, StandardCharsets.UTF_8).strip(), legacy.toString());
            return new TrustStore(directory, List.of(new Entry(key, Origin.LEGACY)));
        } catch (IOException e) {
            throw new UnitException(UnitError.TRUST_STORE, "no trust store in " + directory + " (neither " + FILE
                    + " nor " + LEGACY_FILE + "): " + e.getMessage());
        }
    }

    private static PublicKey decode(String base64, String where) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new UnitException(UnitError.TRUST_STORE, where + ": not an Ed25519 public key: " + e.getMessage());
        }
    }

    private static List<PublicKey> keysOf(List<Entry> entries) {
        return entries.stream().map(Entry::key).toList();
    }

    /** The trusted keys, oldest first. */
    public synchronized List<Entry> entries() {
        return entries;
    }

    /** The key set the firmware manager verifies with; it follows every change of this store. */
    public TrustedKeys trustedKeys() {
        return trustedKeys;
    }

    /**
     * The entry whose fingerprint is, or starts with, {@code fingerprint} (hex, at least
     * {@value #MIN_PREFIX} digits, case and {@code :} separators ignored). Unknown or ambiguous
     * prefixes fail with {@link UnitError#TRUST_STORE} listing the trusted fingerprints.
     */
    public synchronized Entry find(String fingerprint) {
        String wanted = fingerprint.replace(":", "").strip().toLowerCase(Locale.ROOT);
        if (wanted.length() < MIN_PREFIX || !wanted.matches("[0-9a-f]+")) {
            throw new UnitException(UnitError.TRUST_STORE, "'" + fingerprint + "' is not a key fingerprint (at least "
                    + MIN_PREFIX + " hex digits)");
        }
        List<Entry> matches = entries.stream().filter(e -> e.fingerprint().startsWith(wanted)).toList();
        if (matches.size() != 1) {
            throw new UnitException(UnitError.TRUST_STORE, (matches.isEmpty() ? "no trusted key has fingerprint "
                    : "several trusted keys start with ") + wanted + " (trusted: " + fingerprints() + ")");
        }
        return matches.get(0);
    }

    /** Trusts {@code key} from now on ({@link Origin#ADDED}); persisted before it applies. */
    synchronized Entry add(PublicKey key) {
        String fingerprint = TrustedKeys.fingerprint(key);
        for (Entry entry : entries) {
            if (entry.fingerprint().equals(fingerprint)) {
                throw new UnitException(UnitError.TRUST_STORE, "key " + fingerprint + " is already trusted ("
                        + entry.origin().description() + ")");
            }
        }
        Entry added = new Entry(key, Origin.ADDED);
        List<Entry> next = new ArrayList<>(entries);
        next.add(added);
        replace(next);
        return added;
    }

    /** Stops trusting {@code entry}; refuses the last key. Persisted before it applies. */
    synchronized void remove(Entry entry) {
        List<Entry> next = new ArrayList<>(entries);
        if (!next.remove(entry)) {
            throw new UnitException(UnitError.TRUST_STORE, "key " + entry.fingerprint() + " is not trusted");
        }
        if (next.isEmpty()) {
            throw new UnitException(UnitError.TRUST_STORE, "key " + entry.fingerprint() + " is the last trusted key;"
                    + " a unit that trusts no key boots no firmware (add the new key first)");
        }
        replace(next);
    }

    private void replace(List<Entry> next) {
        List<Entry> previous = entries;
        entries = List.copyOf(next);
        try {
            save();
        } catch (RuntimeException e) {
            entries = previous;
            throw e;
        }
        trustedKeys.replaceKeys(keysOf(entries));
    }

    private String fingerprints() {
        return String.join(", ", entries.stream().map(Entry::fingerprint).toList());
    }

    private void save() {
        if (directory == null) {
            return;
        }
        StringBuilder text = new StringBuilder("# scemu trust store: the Ed25519 public keys whose firmware images this unit"
                + " boots and installs.\n# One key per line: ORIGIN BASE64 (X.509 SubjectPublicKeyInfo). Change it with"
                + " 'scemu firmware trust add|remove'.\n");
        for (Entry entry : entries) {
            text.append(entry.origin().token).append(' ')
                    .append(Base64.getEncoder().encodeToString(entry.key().getEncoded()))
                    .append('\n');
        }
        UnitFiles.writeAtomically(directory.resolve(FILE), text.toString().getBytes(StandardCharsets.UTF_8), false);
        try {
            Files.deleteIfExists(directory.resolve(LEGACY_FILE)); // converted: the new file is the store now
        } catch (IOException e) {
            throw new UnitException(UnitError.TRUST_STORE, "cannot remove " + directory.resolve(LEGACY_FILE) + ": "
                    + e.getMessage());
        }
    }
}
