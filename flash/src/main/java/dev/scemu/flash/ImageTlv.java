package dev.scemu.flash;

import dev.scemu.flash.internal.FirmwareImageLayout;
import java.util.HexFormat;

/**
 * One TLV entry of an image.
 *
 * @param type TLV type (u16), see {@code docs/firmware-image.md}
 * @param isProtected whether it lies in the protected TLV area (covered by the hash and signature)
 * @param offset byte offset of the entry's 4-byte TLV header within the image
 * @param value the value bytes (a copy)
 */
public record ImageTlv(int type, boolean isProtected, int offset, byte[] value) {

    public ImageTlv {
        value = value.clone();
    }

    @Override
    public byte[] value() {
        return value.clone();
    }

    public int length() {
        return value.length;
    }

    @Override
    public String toString() {
        String shown = value.length <= 32 ? HexFormat.of().formatHex(value)
                : HexFormat.of().formatHex(value, 0, 32) + "...";
        return String.format("TLV 0x%04x %-14s %s len=%-4d @%-6d %s", type, FirmwareImageLayout.tlvName(type),
                isProtected ? "protected  " : "unprotected", value.length, offset, shown);
    }
}
