package dev.scemu.flash;

import dev.scemu.flash.internal.Digests;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.NamedParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * The Ed25519 public keys whose signatures an image may carry, found by key hash (SHA-256 of the
 * key's X.509 encoding, MCUboot's KEYHASH TLV; its hex spelling is the key's
 * {@linkplain #fingerprint fingerprint}). {@link #of} requires every image to be signed by one of
 * them; {@link #acceptUnsigned()} checks hashes only (for tests and unsigned development images).
 *
 * <p>Key rotation: a set made with {@link #rotatable} can {@link #replaceKeys replace} its keys
 * while a {@link FirmwareManager} uses it; every later verification (staging, update, inspection,
 * boot) sees the new set, so an image signed by a removed key is refused from then on. Sets made
 * with {@link #of} are fixed.
 */
public final class TrustedKeys {

    /** The keys and their hashes, replaced as a whole (one volatile read per lookup). */
    private record KeySet(List<PublicKey> keys, List<byte[]> hashes) {
        static KeySet of(Collection<PublicKey> keys) {
            List<byte[]> hashes = new ArrayList<>();
            for (PublicKey key : keys) {
                hashes.add(keyHash(key));
            }
            return new KeySet(List.copyOf(keys), List.copyOf(hashes));
        }
    }

    private volatile KeySet keySet;
    private final boolean rotatable;
    private final boolean requireSignature;
    /** Signatures already verified (key hash + image hash + signature): verification is deterministic. */
    private final java.util.Map<String, Boolean> verified = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(64, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<String, Boolean> eldest) {
                    return size() > 64;
                }
            });

    private TrustedKeys(Collection<PublicKey> keys, boolean requireSignature, boolean rotatable) {
        this.keySet = KeySet.of(keys);
        this.requireSignature = requireSignature;
        this.rotatable = rotatable;
    }

    /** Trusts {@code keys} and requires a signature by one of them. */
    public static TrustedKeys of(PublicKey... keys) {
        return new TrustedKeys(Arrays.asList(keys), true, false);
    }

    /**
     * Trusts {@code keys}, requires a signature by one of them, and lets the owner
     * {@link #replaceKeys replace} them later (a unit's trust store; see the class description).
     */
    public static TrustedKeys rotatable(Collection<PublicKey> keys) {
        return new TrustedKeys(keys, true, true);
    }

    /** Trusts no key and does not require signatures (hash still checked). */
    public static TrustedKeys acceptUnsigned() {
        return new TrustedKeys(List.of(), false, false);
    }

    /**
     * Replaces the trusted keys of a {@link #rotatable} set; verifications from now on use the new
     * set. At least one key must remain (a set that trusts nothing can boot nothing).
     */
    public void replaceKeys(Collection<PublicKey> keys) {
        if (!rotatable) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "this trusted key set is fixed (" + this
                    + "); use TrustedKeys.rotatable for a set whose keys change");
        }
        if (keys.isEmpty()) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "a trusted key set needs at least one key");
        }
        keySet = KeySet.of(keys);
    }

    public boolean requiresSignature() {
        return requireSignature;
    }

    /** The trusted keys, in the order given. */
    public List<PublicKey> keys() {
        return keySet.keys();
    }

    /** The {@linkplain #fingerprint fingerprints} of the trusted keys, in order. */
    public List<String> fingerprints() {
        return keySet.hashes().stream().map(hash -> HexFormat.of().formatHex(hash)).toList();
    }

    /** The trusted key with this key hash, or null. */
    public PublicKey find(byte[] keyHash) {
        KeySet current = keySet;
        for (int i = 0; i < current.keys().size(); i++) {
            if (MessageDigest.isEqual(current.hashes().get(i), keyHash)) {
                return current.keys().get(i);
            }
        }
        return null;
    }

    /**
     * The key's fingerprint: the lowercase hex of its {@linkplain #keyHash key hash} (64 digits),
     * the value an image's KEYHASH TLV carries.
     */
    public static String fingerprint(PublicKey key) {
        return HexFormat.of().formatHex(keyHash(key));
    }

    /**
     * Whether {@code signature} is a valid Ed25519 signature of {@code hash} by {@code key};
     * successful verifications are remembered (bounded), so re-inspecting an image is cheap.
     */
    public boolean verify(PublicKey key, byte[] hash, byte[] signature) {
        HexFormat hex = HexFormat.of();
        String id = hex.formatHex(keyHash(key)) + hex.formatHex(hash) + hex.formatHex(signature);
        if (verified.containsKey(id)) {
            return true;
        }
        boolean valid;
        try {
            java.security.Signature verifier = java.security.Signature.getInstance("Ed25519");
            verifier.initVerify(key);
            verifier.update(hash);
            valid = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            valid = false;
        }
        if (valid) {
            verified.put(id, Boolean.TRUE);
        }
        return valid;
    }

    /** SHA-256 of the key's X.509 encoding. */
    public static byte[] keyHash(PublicKey key) {
        return Digests.sha256(key.getEncoded());
    }

    /** A new Ed25519 key pair from {@code random}. */
    public static KeyPair generateEd25519(SecureRandom random) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
            generator.initialize(NamedParameterSpec.ED25519, random);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is not available in this JDK", e);
        }
    }

    /**
     * A deterministic Ed25519 key pair from {@code seed}: simulations and tests only. Anyone who
     * knows the seed can sign images with it, so a unit outside a simulation never trusts one.
     */
    public static KeyPair generateEd25519(long seed) {
        return generateEd25519(new SeededRandom(seed));
    }

    /**
     * The public key of an Ed25519 private key. The JDK has no direct API for this; an Ed25519 key
     * is 32 random bytes, so regenerating the pair from a random source that yields exactly those
     * bytes derives the same public key.
     */
    public static PublicKey publicKeyOf(PrivateKey privateKey) {
        if (!(privateKey instanceof EdECPrivateKey edKey) || edKey.getBytes().isEmpty()) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "not an Ed25519 private key with key bytes: "
                    + privateKey.getAlgorithm());
        }
        byte[] bytes = edKey.getBytes().get();
        return generateEd25519(new FixedBytesRandom(bytes)).getPublic();
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("TrustedKeys[");
        for (byte[] hash : keySet.hashes()) {
            text.append(HexFormat.of().formatHex(hash, 0, 8)).append(' ');
        }
        return text.append(requireSignature ? "signature required]" : "unsigned accepted]").toString();
    }

    /** A SecureRandom that replays fixed bytes (to re-derive a key pair from its private bytes). */
    private static final class FixedBytesRandom extends SecureRandom {
        private static final long serialVersionUID = 1L;
        private final byte[] bytes;

        FixedBytesRandom(byte[] bytes) {
            this.bytes = bytes.clone();
        }

        @Override
        public void nextBytes(byte[] out) {
            if (out.length != bytes.length) {
                throw new IllegalStateException("expected a request of " + bytes.length + " bytes, got " + out.length);
            }
            System.arraycopy(bytes, 0, out, 0, out.length);
        }
    }

    /** A SecureRandom driven by a seeded java.util.Random: deterministic test keys only. */
    private static final class SeededRandom extends SecureRandom {
        private static final long serialVersionUID = 1L;
        private final java.util.Random random;

        SeededRandom(long seed) {
            this.random = new java.util.Random(seed);
        }

        @Override
        public void nextBytes(byte[] out) {
            random.nextBytes(out);
        }
    }
}
