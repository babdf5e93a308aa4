package dev.scemu.backup.internal;

import java.security.MessageDigest;
import java.util.List;

/** SHA-256(SHA-256(header record) || chunk SHA-256s in order || SHA-256(extent map record)). */
final class WholeImageHash {

    private WholeImageHash() {
    }

    static byte[] of(byte[] headerSha256, List<ChunkIndexEntry> index, byte[] extentMapSha256) {
        MessageDigest sha = ChunkCodec.newSha256();
        sha.update(headerSha256);
        for (ChunkIndexEntry e : index) {
            sha.update(e.sha256());
        }
        sha.update(extentMapSha256);
        return sha.digest();
    }
}
