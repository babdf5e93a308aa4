package dev.scemu.flash;

import dev.scemu.flash.internal.FirmwareImageLayout;
import dev.scemu.flash.internal.ImageParser;
import dev.scemu.flash.internal.ImageWriter;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A parsed and verified firmware image (layout: {@code docs/firmware-image.md}, MCUboot's image
 * format). Instances only come from {@link #parse}, so holding one means
 * its structure, hash and (if the keys require it) signature were checked; {@link #builder()}
 * creates, hashes and signs new images.
 */
public final class FirmwareImage {

    /** Header flag {@code IMAGE_F_RAM_LOAD}: the image is loaded into RAM at its load address. */
    public static final int FLAG_RAM_LOAD = FirmwareImageLayout.FLAG_RAM_LOAD;
    /** Header flag {@code IMAGE_F_NON_BOOTABLE}: the image is not bootable on its own. */
    public static final int FLAG_NON_BOOTABLE = FirmwareImageLayout.FLAG_NON_BOOTABLE;

    private final byte[] bytes;
    private final int loadAddress;
    private final int headerSize;
    private final int protectedTlvSize;
    private final int imageSize;
    private final int flags;
    private final ImageVersion version;
    private final List<ImageTlv> tlvs;
    private final byte[] sha256;
    private final byte[] keyHash;
    private final boolean signatureVerified;
    private final SortedSet<String> capabilities;
    private final SortedMap<String, Integer> dataFormats;

    private FirmwareImage(ImageParser.Parsed parsed) {
        this.bytes = parsed.bytes();
        this.loadAddress = parsed.loadAddress();
        this.headerSize = parsed.headerSize();
        this.protectedTlvSize = parsed.protectedTlvSize();
        this.imageSize = parsed.imageSize();
        this.flags = parsed.flags();
        this.version = parsed.version();
        this.tlvs = List.copyOf(parsed.tlvs());
        this.sha256 = parsed.sha256();
        this.keyHash = parsed.keyHash();
        this.signatureVerified = parsed.signatureVerified();
        this.capabilities = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(parsed.capabilities()));
        this.dataFormats = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(parsed.dataFormats()));
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Parses and verifies {@code image} (exactly one image, no trailing bytes) against
     * {@code keys}. Every malformation fails with a {@link FlashException} naming the field and
     * values: never an index exception.
     */
    public static FirmwareImage parse(byte[] image, TrustedKeys keys) {
        return new FirmwareImage(ImageParser.parse(image, keys));
    }

    /** Parses and checks the hash; a signature is not required (see {@link TrustedKeys#acceptUnsigned()}). */
    public static FirmwareImage parse(byte[] image) {
        return parse(image, TrustedKeys.acceptUnsigned());
    }

    /**
     * The total length of an image from its 32-byte {@code header} and the 4-byte unprotected TLV
     * info header found at {@link #tlvInfoOffset} (how a reader learns how much to read from
     * flash). Throws like {@link #parse} for a bad header or info.
     */
    public static long totalLength(byte[] header, byte[] unprotectedInfo) {
        return ImageParser.totalLength(header, unprotectedInfo);
    }

    /** Offset of the unprotected TLV info header, from the 32-byte header. */
    public static long tlvInfoOffset(byte[] header) {
        return ImageParser.tlvInfoOffset(header);
    }

    /** A copy of the whole image. */
    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    /** A copy of the body (the code). */
    public byte[] body() {
        return Arrays.copyOfRange(bytes, headerSize, headerSize + imageSize);
    }

    public int loadAddress() {
        return loadAddress;
    }

    public int headerSize() {
        return headerSize;
    }

    public int protectedTlvSize() {
        return protectedTlvSize;
    }

    public int imageSize() {
        return imageSize;
    }

    public int flags() {
        return flags;
    }

    public ImageVersion version() {
        return version;
    }

    public List<ImageTlv> tlvs() {
        return tlvs;
    }

    public byte[] sha256() {
        return sha256.clone();
    }

    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256);
    }

    /** Whether this image has the same hash as {@code other} (same bytes). */
    public boolean sameImageAs(FirmwareImage other) {
        return other != null && Arrays.equals(sha256, other.sha256) && bytes.length == other.bytes.length;
    }

    /** Key hash of the signing key, or null if unsigned. */
    public byte[] keyHash() {
        return keyHash == null ? null : keyHash.clone();
    }

    public boolean isSignatureVerified() {
        return signatureVerified;
    }

    public SortedSet<String> capabilities() {
        return capabilities;
    }

    /** Persistent-data format name → version this image expects. */
    public SortedMap<String, Integer> dataFormats() {
        return dataFormats;
    }

    /** A human-readable report of every field and TLV, and what was verified. */
    public String inspect() {
        StringBuilder out = new StringBuilder();
        out.append("firmware image, ").append(bytes.length).append(" bytes\n");
        out.append(String.format("  magic            0x%08x%n", FirmwareImageLayout.IMAGE_MAGIC));
        out.append(String.format("  load address     0x%08x%n", loadAddress));
        out.append(String.format("  header size      %d%n", headerSize));
        out.append(String.format("  image size       %d%n", imageSize));
        out.append(String.format("  protected TLVs   %d bytes%n", protectedTlvSize));
        out.append(String.format("  flags            0x%08x%n", flags));
        out.append(String.format("  version          %s%n", version));
        out.append(String.format("  sha256           %s (verified)%n", sha256Hex()));
        out.append(String.format("  signature        %s%n", keyHash == null ? "none"
                : (signatureVerified ? "Ed25519, verified, key " : "Ed25519, NOT verified (no trusted keys), key ")
                + HexFormat.of().formatHex(keyHash, 0, 8)));
        out.append(String.format("  capabilities     %s%n", capabilities));
        out.append(String.format("  data formats     %s%n", dataFormats));
        for (ImageTlv tlv : tlvs) {
            out.append("  ").append(tlv).append('\n');
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "FirmwareImage[" + version + ", " + bytes.length + " B, sha256 " + sha256Hex().substring(0, 16) + "]";
    }

    /** Builds, hashes and signs an image. */
    public static final class Builder {
        private ImageVersion version = ImageVersion.of(0, 0, 0, 0);
        private int loadAddress;
        private int headerSize = FirmwareImageLayout.HEADER_BYTES;
        private int flags;
        private byte[] body = new byte[0];
        private final TreeSet<String> capabilities = new TreeSet<>();
        private final Map<String, Integer> dataFormats = new TreeMap<>();
        private final Map<Integer, byte[]> extraProtected = new LinkedHashMap<>();
        private PrivateKey signingKey;
        private PublicKey publicKey;

        private Builder() {
        }

        public Builder version(ImageVersion version) {
            this.version = version;
            return this;
        }

        public Builder version(String version) {
            return version(ImageVersion.parse(version));
        }

        public Builder loadAddress(int loadAddress) {
            this.loadAddress = loadAddress;
            return this;
        }

        /** Header size in bytes (32..65535); bytes after the 32-byte header are zero padding. */
        public Builder headerSize(int headerSize) {
            if (headerSize < FirmwareImageLayout.HEADER_BYTES || headerSize > 0xFFFF) {
                throw new FlashException(FlashError.BAD_HEADER_SIZE, "header size " + headerSize + " is outside [32, 65535]");
            }
            this.headerSize = headerSize;
            return this;
        }

        public Builder flags(int flags) {
            if ((flags & ~FirmwareImageLayout.SUPPORTED_FLAGS) != 0) {
                throw new FlashException(FlashError.BAD_HEADER, String.format("flags 0x%08x are not supported", flags));
            }
            this.flags = flags;
            return this;
        }

        public Builder body(byte[] body) {
            this.body = body.clone();
            return this;
        }

        public Builder capability(String name) {
            checkName(name);
            capabilities.add(name);
            return this;
        }

        public Builder capabilities(String... names) {
            for (String name : names) {
                capability(name);
            }
            return this;
        }

        /** The version of persistent-data format {@code name} this image expects. */
        public Builder dataFormat(String name, int version) {
            checkName(name);
            if (version < 0 || version > 0xFFFF) {
                throw new FlashException(FlashError.INVALID_ARGUMENT, "format version " + version + " does not fit u16");
            }
            dataFormats.put(name, version);
            return this;
        }

        /** An additional protected TLV (vendor extensions); its value is stored as given. */
        public Builder protectedTlv(int type, byte[] value) {
            if (type < 0 || type > 0xFFFF || value.length > 0xFFFF) {
                throw new FlashException(FlashError.INVALID_ARGUMENT, "TLV type " + type + " or length " + value.length
                        + " does not fit u16");
            }
            extraProtected.put(type, value.clone());
            return this;
        }

        /** Signs with an Ed25519 private key (its public key is derived for the KEYHASH TLV). */
        public Builder sign(PrivateKey privateKey) {
            this.signingKey = privateKey;
            this.publicKey = TrustedKeys.publicKeyOf(privateKey);
            return this;
        }

        public Builder sign(KeyPair keyPair) {
            this.signingKey = keyPair.getPrivate();
            this.publicKey = keyPair.getPublic();
            return this;
        }

        /** The image bytes. */
        public byte[] build() {
            List<byte[]> protectedTlvs = new ArrayList<>();
            if (!capabilities.isEmpty()) {
                protectedTlvs.add(ImageWriter.tlv(FirmwareImageLayout.TLV_SCEMU_CAPABILITIES,
                        ImageWriter.encodeCapabilities(capabilities)));
            }
            if (!dataFormats.isEmpty()) {
                protectedTlvs.add(ImageWriter.tlv(FirmwareImageLayout.TLV_SCEMU_DATA_FORMATS,
                        ImageWriter.encodeDataFormats(dataFormats)));
            }
            extraProtected.forEach((type, value) -> protectedTlvs.add(ImageWriter.tlv(type, value)));
            return ImageWriter.write(version, loadAddress, headerSize, flags, body, protectedTlvs, signingKey, publicKey);
        }

        private static void checkName(String name) {
            if (!FirmwareImageLayout.isValidName(name)) {
                throw new FlashException(FlashError.INVALID_ARGUMENT, "name '" + name
                        + "' must be 1..64 chars of [a-z0-9._-]");
            }
        }
    }
}
