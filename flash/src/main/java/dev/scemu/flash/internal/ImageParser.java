package dev.scemu.flash.internal;

import static dev.scemu.flash.internal.FirmwareImageLayout.*;

import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.ImageTlv;
import dev.scemu.flash.ImageVersion;
import dev.scemu.flash.TrustedKeys;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Parses and verifies images (see {@link FirmwareImageLayout}). Every read is bounds-checked
 * against the structure it belongs to before it happens, so malformed input fails with a
 * {@link FlashException}, never an index exception. Sizes are computed in {@code long}.
 */
public final class ImageParser {

    /**
     * The fields of a parsed and verified image, from which {@link FirmwareImage} builds itself.
     *
     * @param bytes the whole image (owned by the receiver)
     * @param sha256 the verified hash over header, body and protected TLVs
     * @param keyHash the KEYHASH TLV's value, or null if the image has none
     * @param signatureVerified whether the signature was verified against a trusted key
     */
    public record Parsed(byte[] bytes, int loadAddress, int headerSize, int protectedTlvSize, int imageSize, int flags,
                         ImageVersion version, List<ImageTlv> tlvs, byte[] sha256, byte[] keyHash,
                         boolean signatureVerified, SortedSet<String> capabilities, SortedMap<String, Integer> dataFormats) {
    }

    private ImageParser() {
    }

    /** See {@link FirmwareImage#tlvInfoOffset}. */
    public static long tlvInfoOffset(byte[] header) {
        checkHeader(header, header.length);
        return (long) u16(header, OFFSET_HEADER_SIZE) + u32(header, OFFSET_IMAGE_SIZE)
                + u16(header, OFFSET_PROTECTED_TLV_SIZE);
    }

    /** See {@link FirmwareImage#totalLength}. */
    public static long totalLength(byte[] header, byte[] unprotectedInfo) {
        long infoOffset = tlvInfoOffset(header);
        if (unprotectedInfo.length < TLV_INFO_BYTES) {
            throw new FlashException(FlashError.TRUNCATED, "TLV info header needs 4 bytes, got " + unprotectedInfo.length);
        }
        int magic = u16(unprotectedInfo, 0);
        int total = u16(unprotectedInfo, 2);
        if (magic != TLV_INFO_MAGIC || total < TLV_INFO_BYTES) {
            throw new FlashException(FlashError.BAD_TLV_INFO, String.format(
                    "TLV info at offset %d: magic 0x%04x (expected 0x%04x), tlv_tot %d", infoOffset, magic, TLV_INFO_MAGIC, total));
        }
        return infoOffset + total;
    }

    /** Checks the 32-byte header fields that do not need the rest of the image. */
    private static void checkHeader(byte[] image, long available) {
        if (image.length < HEADER_BYTES) {
            throw new FlashException(FlashError.TRUNCATED, "image of " + image.length + " bytes is shorter than the "
                    + HEADER_BYTES + "-byte header");
        }
        int magic = (int) u32(image, OFFSET_MAGIC);
        if (magic != IMAGE_MAGIC) {
            throw new FlashException(FlashError.BAD_MAGIC, String.format("image magic 0x%08x, expected 0x%08x",
                    magic, IMAGE_MAGIC));
        }
        int headerSize = u16(image, OFFSET_HEADER_SIZE);
        if (headerSize < HEADER_BYTES || headerSize > available) {
            throw new FlashException(FlashError.BAD_HEADER_SIZE, "header size " + headerSize + " is below "
                    + HEADER_BYTES + " or beyond the " + available + " bytes available");
        }
        long pad = u32(image, OFFSET_PAD);
        if (pad != 0) {
            throw new FlashException(FlashError.BAD_HEADER, String.format("reserved header field at offset %d is 0x%08x, not 0",
                    OFFSET_PAD, pad));
        }
        int flags = (int) u32(image, OFFSET_FLAGS);
        if ((flags & ~SUPPORTED_FLAGS) != 0) {
            throw new FlashException(FlashError.BAD_HEADER, String.format(
                    "flags 0x%08x include unsupported bits 0x%08x (encryption, PIC, ...)", flags, flags & ~SUPPORTED_FLAGS));
        }
        int protectedSize = u16(image, OFFSET_PROTECTED_TLV_SIZE);
        if (protectedSize != 0 && protectedSize < TLV_INFO_BYTES) {
            throw new FlashException(FlashError.BAD_TLV_INFO, "protected TLV size " + protectedSize
                    + " is neither 0 nor at least the 4-byte info header");
        }
    }

    /** Parses and verifies {@code image} against {@code keys}; see {@link FirmwareImage#parse(byte[], TrustedKeys)}. */
    public static Parsed parse(byte[] image, TrustedKeys keys) {
        if (image == null) {
            throw new FlashException(FlashError.TRUNCATED, "image is null");
        }
        checkHeader(image, image.length);
        int headerSize = u16(image, OFFSET_HEADER_SIZE);
        int protectedSize = u16(image, OFFSET_PROTECTED_TLV_SIZE);
        long imageSize = u32(image, OFFSET_IMAGE_SIZE);
        for (int i = HEADER_BYTES; i < headerSize; i++) {
            if (image[i] != 0) {
                throw new FlashException(FlashError.BAD_HEADER, "header padding byte at offset " + i + " is not 0");
            }
        }
        long protectedStart = headerSize + imageSize;
        long unprotectedStart = protectedStart + protectedSize;
        if (unprotectedStart + TLV_INFO_BYTES > image.length) {
            throw new FlashException(FlashError.SIZE_BEYOND_BUFFER, "header size " + headerSize + " + image size "
                    + imageSize + " + protected TLVs " + protectedSize + " + TLV info 4 = "
                    + (unprotectedStart + TLV_INFO_BYTES) + " bytes exceed the image buffer of " + image.length);
        }
        List<ImageTlv> tlvs = new ArrayList<>();
        if (protectedSize > 0) {
            int start = (int) protectedStart;
            int magic = u16(image, start);
            int total = u16(image, start + 2);
            if (magic != TLV_PROTECTED_INFO_MAGIC || total != protectedSize) {
                throw new FlashException(FlashError.BAD_TLV_INFO, String.format("protected TLV info at offset %d: magic "
                        + "0x%04x (expected 0x%04x), tlv_tot %d (header says %d)", start, magic, TLV_PROTECTED_INFO_MAGIC,
                        total, protectedSize));
            }
            readTlvs(image, start + TLV_INFO_BYTES, start + protectedSize, true, tlvs);
        }
        int start = (int) unprotectedStart;
        int magic = u16(image, start);
        int total = u16(image, start + 2);
        if (magic != TLV_INFO_MAGIC || total < TLV_INFO_BYTES) {
            throw new FlashException(FlashError.BAD_TLV_INFO, String.format("TLV info at offset %d: magic 0x%04x "
                    + "(expected 0x%04x), tlv_tot %d", start, magic, TLV_INFO_MAGIC, total));
        }
        long end = unprotectedStart + total;
        if (end > image.length) {
            throw new FlashException(FlashError.TLV_OVERRUN, "TLV area [" + start + ", +" + total
                    + ") runs past the image end " + image.length);
        }
        if (end < image.length) {
            throw new FlashException(FlashError.TRAILING_BYTES, (image.length - end) + " bytes follow the TLV area ending at "
                    + end);
        }
        readTlvs(image, start + TLV_INFO_BYTES, (int) end, false, tlvs);
        return verify(image, keys, headerSize, protectedSize, (int) imageSize, (int) unprotectedStart, tlvs);
    }

    private static void readTlvs(byte[] image, int from, int end, boolean isProtected, List<ImageTlv> out) {
        int position = from;
        while (position < end) {
            if (end - position < TLV_HEADER_BYTES) {
                throw new FlashException(FlashError.TLV_OVERRUN, "TLV header at offset " + position + " needs 4 bytes, "
                        + (end - position) + " remain in the " + (isProtected ? "protected" : "unprotected") + " TLV area");
            }
            int type = u16(image, position);
            int length = u16(image, position + 2);
            if (length > end - position - TLV_HEADER_BYTES) {
                throw new FlashException(FlashError.TLV_OVERRUN, String.format("TLV 0x%04x at offset %d has length %d, "
                        + "only %d bytes remain in its area", type, position, length, end - position - TLV_HEADER_BYTES));
            }
            byte[] value = new byte[length];
            System.arraycopy(image, position + TLV_HEADER_BYTES, value, 0, length);
            out.add(new ImageTlv(type, isProtected, position, value));
            position += TLV_HEADER_BYTES + length;
        }
    }

    private static Parsed verify(byte[] image, TrustedKeys keys, int headerSize, int protectedSize, int imageSize,
                                        int coveredLength, List<ImageTlv> tlvs) {
        ImageTlv hashTlv = null;
        ImageTlv keyHashTlv = null;
        ImageTlv signatureTlv = null;
        SortedSet<String> capabilities = new TreeSet<>();
        SortedMap<String, Integer> formats = new TreeMap<>();
        boolean seenCapabilities = false;
        boolean seenFormats = false;
        for (ImageTlv tlv : tlvs) {
            switch (tlv.type()) {
                case TLV_SHA256 -> hashTlv = once(hashTlv, tlv, SHA256_BYTES);
                case TLV_KEYHASH -> keyHashTlv = once(keyHashTlv, tlv, SHA256_BYTES);
                case TLV_ED25519 -> signatureTlv = once(signatureTlv, tlv, ED25519_SIGNATURE_BYTES);
                case TLV_SCEMU_CAPABILITIES -> {
                    requireProtected(tlv);
                    seenCapabilities = onceFlag(seenCapabilities, tlv);
                    decodeNames(tlv, capabilities, null);
                }
                case TLV_SCEMU_DATA_FORMATS -> {
                    requireProtected(tlv);
                    seenFormats = onceFlag(seenFormats, tlv);
                    decodeNames(tlv, null, formats);
                }
                default -> {
                    if (isVendorType(tlv.type())) {
                        requireProtected(tlv);
                    }
                }
            }
        }
        if (hashTlv == null) {
            throw new FlashException(FlashError.MISSING_HASH, "image has no SHA256 TLV (0x10)");
        }
        if (hashTlv.isProtected()) {
            throw new FlashException(FlashError.BAD_TLV_VALUE, "the SHA256 TLV cannot be in the protected area it covers");
        }
        byte[] hash = Digests.sha256(image, 0, coveredLength);
        if (!MessageDigest.isEqual(hash, hashTlv.value())) {
            throw new FlashException(FlashError.HASH_MISMATCH, "SHA-256 of bytes [0, " + coveredLength + ") is "
                    + HexFormat.of().formatHex(hash) + ", the SHA256 TLV says " + HexFormat.of().formatHex(hashTlv.value()));
        }
        boolean verified = false;
        if (signatureTlv != null || keyHashTlv != null || keys.requiresSignature()) {
            if (signatureTlv == null || keyHashTlv == null) {
                if (keys.requiresSignature() || signatureTlv != null) {
                    throw new FlashException(FlashError.MISSING_SIGNATURE, "image needs both a KEYHASH (0x01) and an "
                            + "ED25519 (0x24) TLV; has " + (keyHashTlv == null ? "no" : "a") + " key hash and "
                            + (signatureTlv == null ? "no" : "a") + " signature");
                }
            } else {
                PublicKey key = keys.find(keyHashTlv.value());
                if (key == null) {
                    if (keys.requiresSignature()) {
                        throw new FlashException(FlashError.UNKNOWN_KEY, "image is signed by key "
                                + HexFormat.of().formatHex(keyHashTlv.value()) + ", which is not trusted (trusted: "
                                + (keys.fingerprints().isEmpty() ? "none" : String.join(", ", keys.fingerprints())) + ")");
                    }
                } else {
                    if (!keys.verify(key, hash, signatureTlv.value())) {
                        throw new FlashException(FlashError.BAD_SIGNATURE, "Ed25519 signature at offset "
                                + signatureTlv.offset() + " does not verify with key "
                                + HexFormat.of().formatHex(keyHashTlv.value(), 0, 8));
                    }
                    verified = true;
                }
            }
        }
        int flags = (int) u32(image, OFFSET_FLAGS);
        ImageVersion version = new ImageVersion(image[OFFSET_VERSION_MAJOR] & 0xFF, image[OFFSET_VERSION_MINOR] & 0xFF,
                u16(image, OFFSET_VERSION_REVISION), u32(image, OFFSET_VERSION_BUILD));
        return new Parsed(image.clone(), (int) u32(image, OFFSET_LOAD_ADDRESS), headerSize, protectedSize, imageSize,
                flags, version, tlvs, hash, keyHashTlv == null ? null : keyHashTlv.value(), verified, capabilities, formats);
    }

    private static ImageTlv once(ImageTlv seen, ImageTlv tlv, int requiredLength) {
        if (seen != null) {
            throw new FlashException(FlashError.DUPLICATE_TLV, String.format("TLV 0x%04x appears at offsets %d and %d",
                    tlv.type(), seen.offset(), tlv.offset()));
        }
        if (tlv.length() != requiredLength) {
            throw new FlashException(FlashError.BAD_TLV_VALUE, String.format("TLV 0x%04x at offset %d has length %d, "
                    + "expected %d", tlv.type(), tlv.offset(), tlv.length(), requiredLength));
        }
        return tlv;
    }

    private static boolean onceFlag(boolean seen, ImageTlv tlv) {
        if (seen) {
            throw new FlashException(FlashError.DUPLICATE_TLV, String.format("TLV 0x%04x appears twice (again at offset %d)",
                    tlv.type(), tlv.offset()));
        }
        return true;
    }

    private static void requireProtected(ImageTlv tlv) {
        if (!tlv.isProtected()) {
            throw new FlashException(FlashError.UNPROTECTED_TLV, String.format("vendor TLV 0x%04x at offset %d must be in "
                    + "the protected TLV area", tlv.type(), tlv.offset()));
        }
    }

    /** Decodes a CAPABILITIES (into names) or DATA_FORMATS (into formats) value. */
    private static void decodeNames(ImageTlv tlv, SortedSet<String> names, SortedMap<String, Integer> formats) {
        byte[] value = tlv.value();
        String what = String.format("TLV 0x%04x at offset %d", tlv.type(), tlv.offset());
        if (value.length < 2) {
            throw new FlashException(FlashError.BAD_TLV_VALUE, what + " is shorter than its 2-byte count");
        }
        int count = u16(value, 0);
        int position = 2;
        for (int i = 0; i < count; i++) {
            if (position >= value.length) {
                throw new FlashException(FlashError.BAD_TLV_VALUE, what + ": entry " + i + " of " + count + " is missing");
            }
            int nameLength = value[position] & 0xFF;
            int needed = 1 + nameLength + (formats != null ? 2 : 0);
            if (needed > value.length - position) {
                throw new FlashException(FlashError.BAD_TLV_VALUE, what + ": entry " + i + " needs " + needed
                        + " bytes at value offset " + position + ", " + (value.length - position) + " remain");
            }
            String name = new String(value, position + 1, nameLength, StandardCharsets.UTF_8);
            if (!isValidName(name)) {
                throw new FlashException(FlashError.BAD_TLV_VALUE, what + ": entry " + i + " name '" + name
                        + "' is not 1..64 chars of [a-z0-9._-]");
            }
            boolean fresh;
            if (formats != null) {
                fresh = formats.put(name, u16(value, position + 1 + nameLength)) == null;
            } else {
                fresh = names.add(name);
            }
            if (!fresh) {
                throw new FlashException(FlashError.BAD_TLV_VALUE, what + ": name '" + name + "' appears twice");
            }
            position += needed;
        }
        if (position != value.length) {
            throw new FlashException(FlashError.BAD_TLV_VALUE, what + ": " + (value.length - position)
                    + " bytes follow its " + count + " entries");
        }
    }

    static int u16(byte[] bytes, int offset) {
        return (bytes[offset] & 0xFF) | (bytes[offset + 1] & 0xFF) << 8;
    }

    static long u32(byte[] bytes, int offset) {
        return (bytes[offset] & 0xFFL) | (bytes[offset + 1] & 0xFFL) << 8 | (bytes[offset + 2] & 0xFFL) << 16
                | (bytes[offset + 3] & 0xFFL) << 24;
    }
}
