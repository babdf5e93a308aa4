package dev.scemu.flash.internal;

import static dev.scemu.flash.internal.FirmwareImageLayout.*;

import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.ImageVersion;
import dev.scemu.flash.TrustedKeys;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/** Serializes images (see {@link FirmwareImageLayout}). */
public final class ImageWriter {

    private ImageWriter() {
    }

    public static byte[] write(ImageVersion version, int loadAddress, int headerSize, int flags, byte[] body,
                        List<byte[]> protectedTlvs, PrivateKey signingKey, PublicKey publicKey) {
        int protectedSize = 0;
        if (!protectedTlvs.isEmpty()) {
            protectedSize = TLV_INFO_BYTES;
            for (byte[] tlv : protectedTlvs) {
                protectedSize += tlv.length;
            }
            if (protectedSize > 0xFFFF) {
                throw new FlashException(FlashError.IMAGE_TOO_LARGE, "protected TLVs of " + protectedSize
                        + " bytes exceed 65535");
            }
        }
        ByteBuffer header = ByteBuffer.allocate(headerSize).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(OFFSET_MAGIC, IMAGE_MAGIC)
                .putInt(OFFSET_LOAD_ADDRESS, loadAddress)
                .putShort(OFFSET_HEADER_SIZE, (short) headerSize)
                .putShort(OFFSET_PROTECTED_TLV_SIZE, (short) protectedSize)
                .putInt(OFFSET_IMAGE_SIZE, body.length)
                .putInt(OFFSET_FLAGS, flags)
                .put(OFFSET_VERSION_MAJOR, (byte) version.major())
                .put(OFFSET_VERSION_MINOR, (byte) version.minor())
                .putShort(OFFSET_VERSION_REVISION, (short) version.revision())
                .putInt(OFFSET_VERSION_BUILD, (int) version.build())
                .putInt(OFFSET_PAD, 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header.array());
        out.writeBytes(body);
        if (protectedSize > 0) {
            out.writeBytes(info(TLV_PROTECTED_INFO_MAGIC, protectedSize));
            protectedTlvs.forEach(out::writeBytes);
        }
        byte[] covered = out.toByteArray();
        byte[] hash = Digests.sha256(covered);
        ByteArrayOutputStream unprotected = new ByteArrayOutputStream();
        unprotected.writeBytes(tlv(TLV_SHA256, hash));
        if (signingKey != null) {
            unprotected.writeBytes(tlv(TLV_KEYHASH, TrustedKeys.keyHash(publicKey)));
            unprotected.writeBytes(tlv(TLV_ED25519, sign(signingKey, hash)));
        }
        byte[] tlvs = unprotected.toByteArray();
        out.writeBytes(info(TLV_INFO_MAGIC, TLV_INFO_BYTES + tlvs.length));
        out.writeBytes(tlvs);
        return out.toByteArray();
    }

    public static byte[] sign(PrivateKey key, byte[] hash) {
        try {
            Signature signature = Signature.getInstance("Ed25519");
            signature.initSign(key);
            signature.update(hash);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "cannot sign with " + key.getAlgorithm() + " key: " + e, e);
        }
    }

    public static byte[] info(int magic, int total) {
        return ByteBuffer.allocate(TLV_INFO_BYTES).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) magic).putShort((short) total).array();
    }

    public static byte[] tlv(int type, byte[] value) {
        return ByteBuffer.allocate(TLV_HEADER_BYTES + value.length).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) type).putShort((short) value.length).put(value).array();
    }

    public static byte[] encodeCapabilities(Collection<String> names) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(names.size() & 0xFF);
        out.write(names.size() >>> 8);
        for (String name : names) {
            byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
            out.write(utf8.length);
            out.writeBytes(utf8);
        }
        return out.toByteArray();
    }

    public static byte[] encodeDataFormats(Map<String, Integer> formats) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(formats.size() & 0xFF);
        out.write(formats.size() >>> 8);
        formats.forEach((name, version) -> {
            byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
            out.write(utf8.length);
            out.writeBytes(utf8);
            out.write(version & 0xFF);
            out.write(version >>> 8);
        });
        return out.toByteArray();
    }
}
