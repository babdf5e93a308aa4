package dev.scemu.flash.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Fuzzer;
import dev.scemu.flash.FlashException;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Firmware update journal payloads ({@link UpdateRecord}): the BEGIN payload with its migration plan
 * and the migration index of a step.
 */
class UpdateRecordFuzzTest {

    private static List<byte[]> payloads;

    @BeforeAll
    static void realPayloads() {
        byte[] oldSha = new byte[32];
        byte[] newSha = new byte[32];
        java.util.Arrays.fill(newSha, (byte) 7);
        UpdateRecord none = new UpdateRecord(oldSha, newSha, List.of());
        UpdateRecord two = new UpdateRecord(oldSha, newSha, List.of(
                new UpdateRecord.PlannedStep("mapping-table", 1, 2, true),
                new UpdateRecord.PlannedStep("raid-superblock", 3, 1, false)));
        payloads = List.of(bytesOf(none.encode()), bytesOf(two.encode()));
    }

    private static byte[] bytesOf(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    @Test
    void mutatedBeginPayloadsDecodeOrFailWithFlashException() {
        int n = FuzzSupport.iterations(4000);
        Fuzzer.Report report = FuzzSupport.print("flash.UpdateRecord.decode", new Fuzzer(151, n, FlashException.class)
                .run(payloads, payload -> UpdateRecord.decode(ByteBuffer.wrap(payload))));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }

    @Test
    void mutatedStepPayloadsGiveAMigrationIndexOrFailWithFlashException() {
        int n = FuzzSupport.iterations(1000);
        byte[] index1 = {1, 0};
        Fuzzer.Report report = FuzzSupport.print("flash.UpdateRecord.indexOf", new Fuzzer(152, n, FlashException.class)
                .run(List.of(index1), payload -> UpdateRecord.indexOf(ByteBuffer.wrap(payload), 2)));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }
}
