package dev.scemu.flash.internal;

/**
 * The byte layout of a firmware image, following MCUboot's bootutil image format (all fields
 * little-endian), plus scemu's vendor TLVs. {@code docs/firmware-image.md} has the same diagrams.
 *
 * <pre>
 *  image
 *  +------------------+ 0
 *  | image header     |  32 bytes (+ zero padding up to hdr_size)
 *  +------------------+ hdr_size
 *  | body             |  img_size bytes
 *  +------------------+ hdr_size + img_size
 *  | protected TLVs   |  protect_tlv_size bytes (0 if none): info 0x6908 + TLVs
 *  +------------------+            &lt;- SHA-256 and signature cover [0, here)
 *  | unprotected TLVs |  info 0x6907 + TLVs: KEYHASH, SHA256, ED25519
 *  +------------------+ end of image
 *
 *  image header (32 bytes)
 *   0        4          8        10         12        16       20  21  22       24       28      32
 *   +--------+----------+--------+----------+---------+--------+---+---+--------+--------+-------+
 *   | magic  | load     | hdr    | protect  | img     | flags  |maj|min|revision| build  | pad   |
 *   | u32    | addr u32 | size   | tlv size | size    | u32    |u8 |u8 | u16    | u32    | u32=0 |
 *   |96f3b83d|          | u16    | u16      | u32     |        |   |   |        |        |       |
 *   +--------+----------+--------+----------+---------+--------+---+---+--------+--------+-------+
 *
 *  TLV info header (4 bytes)        TLV entry (4 bytes + len)
 *   0        2          4            0        2        4
 *   +--------+----------+            +--------+--------+---------------+
 *   | magic  | tlv_tot  |            | type   | len    | value (len)   |
 *   | u16    | u16      |            | u16    | u16    |               |
 *   +--------+----------+            +--------+--------+---------------+
 *   tlv_tot counts the info header itself and every entry of its area.
 * </pre>
 *
 * <p>Hash: SHA-256 over bytes {@code [0, hdr_size + img_size + protect_tlv_size)}. Signature:
 * Ed25519 over the 32-byte hash (as MCUboot's ED25519 TLV). Key hash: SHA-256 of the signing
 * public key's X.509 (SubjectPublicKeyInfo) encoding.
 *
 * <p>Vendor TLVs live in MCUboot's vendor range {@code 0xXXA0..0xXXFE}, under scemu's prefix
 * {@code 0x53} ('S'), and must be protected:
 * <pre>
 *  0x53A0 CAPABILITIES   u16 count, then count x ( u8 nameLength, name UTF-8 )
 *  0x53A1 DATA_FORMATS   u16 count, then count x ( u8 nameLength, name UTF-8, u16 version )
 * </pre>
 * Names are 1..64 chars of {@code [a-z0-9._-]}, unique within their TLV.
 */
public final class FirmwareImageLayout {

    public static final int IMAGE_MAGIC = 0x96f3b83d;
    public static final int HEADER_BYTES = 32;
    public static final int TLV_INFO_MAGIC = 0x6907;
    public static final int TLV_PROTECTED_INFO_MAGIC = 0x6908;
    public static final int TLV_INFO_BYTES = 4;
    public static final int TLV_HEADER_BYTES = 4;

    public static final int OFFSET_MAGIC = 0;
    public static final int OFFSET_LOAD_ADDRESS = 4;
    public static final int OFFSET_HEADER_SIZE = 8;
    public static final int OFFSET_PROTECTED_TLV_SIZE = 10;
    public static final int OFFSET_IMAGE_SIZE = 12;
    public static final int OFFSET_FLAGS = 16;
    public static final int OFFSET_VERSION_MAJOR = 20;
    public static final int OFFSET_VERSION_MINOR = 21;
    public static final int OFFSET_VERSION_REVISION = 22;
    public static final int OFFSET_VERSION_BUILD = 24;
    public static final int OFFSET_PAD = 28;

    public static final int TLV_KEYHASH = 0x01;
    public static final int TLV_SHA256 = 0x10;
    public static final int TLV_ED25519 = 0x24;
    public static final int TLV_SCEMU_CAPABILITIES = 0x53A0;
    public static final int TLV_SCEMU_DATA_FORMATS = 0x53A1;

    public static final int SHA256_BYTES = 32;
    public static final int ED25519_SIGNATURE_BYTES = 64;

    /** MCUboot: executable from RAM, load address meaningful. */
    public static final int FLAG_RAM_LOAD = 0x20;
    /** MCUboot: not bootable by itself. */
    public static final int FLAG_NON_BOOTABLE = 0x10;
    /** Flags this implementation accepts; encryption, PIC and the rest are refused. */
    public static final int SUPPORTED_FLAGS = FLAG_RAM_LOAD | FLAG_NON_BOOTABLE;

    public static final int MAX_NAME_LENGTH = 64;

    private FirmwareImageLayout() {
    }

    /** Whether {@code type} is in MCUboot's vendor-reserved range (low byte 0xA0..0xFE). */
    public static boolean isVendorType(int type) {
        int low = type & 0xFF;
        return low >= 0xA0 && type != 0xFFFF;
    }

    public static String tlvName(int type) {
        return switch (type) {
            case TLV_KEYHASH -> "KEYHASH";
            case TLV_SHA256 -> "SHA256";
            case TLV_ED25519 -> "ED25519";
            case TLV_SCEMU_CAPABILITIES -> "CAPABILITIES";
            case TLV_SCEMU_DATA_FORMATS -> "DATA_FORMATS";
            default -> isVendorType(type) ? "vendor" : "unknown";
        };
    }

    public static boolean isValidName(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
                return false;
            }
        }
        return true;
    }
}
