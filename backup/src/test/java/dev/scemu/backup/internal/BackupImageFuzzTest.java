package dev.scemu.backup.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Fuzzer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Whole backup images through the public API: {@link BackupEngine#verify} and {@link BackupEngine#info}
 * of a mutated image (flipped bytes, truncation, garbage appended...), with the right, a wrong and no
 * password. Every failure must be a {@link BackupException}; the target is read-only (it fails on any write).
 * Every byte of an image is covered by a checksum, a hash or the GCM tag, so an image that verifies
 * must be byte for byte the one written, read with the right password.
 */
class BackupImageFuzzTest {

    private static byte[] plain;
    private static byte[] encrypted;

    @BeforeAll
    static void realImages() {
        plain = BackupArchives.image("plain", 3, null);
        encrypted = BackupArchives.image("secret", 3, BackupArchives.PASSWORD);
    }

    @Test
    void mutatedPlainImagesVerifyOrFailWithBackupException() {
        int n = FuzzSupport.iterations(600);
        Fuzzer.Report report = FuzzSupport.print("backup.verify(plain image)", new Fuzzer(171, n, BackupException.class)
                .run(List.of(plain), image -> {
                    BackupEngine.info(BackupArchives.inMemory("plain", image), "plain", null);
                    BackupEngine.verify(BackupArchives.inMemory("plain", image), "plain", null);
                    if (!Arrays.equals(image, plain)) {
                        throw new AssertionError("a changed image verified");
                    }
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly() + report.rejected()).isEqualTo(n);
    }

    @Test
    void mutatedEncryptedImagesVerifyOrFailWithBackupExceptionWhateverThePassword() {
        int n = FuzzSupport.iterations(300);
        char[][] passwords = {BackupArchives.PASSWORD, "wrong password".toCharArray(), null};
        int[] which = {0};
        Fuzzer.Report report = FuzzSupport.print("backup.verify(encrypted image)",
                new Fuzzer(172, n, BackupException.class).run(List.of(encrypted), image -> {
                    char[] password = passwords[which[0]++ % passwords.length];
                    BackupEngine.verify(BackupArchives.inMemory("secret", image), "secret",
                            password == null ? null : password.clone());
                    if (!Arrays.equals(image, encrypted) || password != BackupArchives.PASSWORD) {
                        throw new AssertionError("a changed image or a wrong password verified");
                    }
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly() + report.rejected()).isEqualTo(n);
    }

    @Test
    void intactPlainImageIsRefusedWhenAPasswordIsGiven() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> BackupEngine.verify(
                BackupArchives.inMemory("plain", plain), "plain", BackupArchives.PASSWORD.clone()))
                .isInstanceOf(BackupException.class)
                .extracting(e -> ((BackupException) e).code()).isEqualTo(dev.scemu.backup.BackupError.NOT_ENCRYPTED);
    }

    @Test
    void intactEncryptedImageIsRejectedWithAWrongOrMissingPassword() {
        for (char[] password : new char[][] {"wrong password".toCharArray(), null}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> BackupEngine.verify(
                    BackupArchives.inMemory("secret", encrypted), "secret", password))
                    .isInstanceOf(BackupException.class);
        }
        BackupEngine.verify(BackupArchives.inMemory("secret", encrypted), "secret", BackupArchives.PASSWORD.clone());
    }
}
