package dev.scemu.testkit.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Fuzzer;
import dev.scemu.flash.FlashException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Firmware update journal payloads ({@code dev.scemu.flash.UpdateRecord}, package-private, reached by
 * reflection): the BEGIN payload with its migration plan and the migration index of a step.
 */
class UpdateRecordFuzzTest {

    private static final String RECORD = "dev.scemu.flash.UpdateRecord";
    private static List<byte[]> payloads;

    @BeforeAll
    static void realPayloads() throws Exception {
        Class<?> record = Class.forName(RECORD);
        Class<?> step = Class.forName(RECORD + "$PlannedStep");
        Constructor<?> newStep = step.getDeclaredConstructor(String.class, int.class, int.class, boolean.class);
        newStep.setAccessible(true);
        Constructor<?> newRecord = record.getDeclaredConstructor(byte[].class, byte[].class, List.class);
        newRecord.setAccessible(true);
        Method encode = record.getDeclaredMethod("encode");
        encode.setAccessible(true);
        byte[] oldSha = new byte[32];
        byte[] newSha = new byte[32];
        java.util.Arrays.fill(newSha, (byte) 7);
        Object none = newRecord.newInstance(oldSha, newSha, List.of());
        Object two = newRecord.newInstance(oldSha, newSha, List.of(newStep.newInstance("mapping-table", 1, 2, true),
                newStep.newInstance("raid-superblock", 3, 1, false)));
        payloads = List.of(bytesOf((ByteBuffer) encode.invoke(none)), bytesOf((ByteBuffer) encode.invoke(two)));
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
                .run(payloads, payload -> FuzzSupport.invokeStatic(RECORD, "decode", new Class<?>[] {ByteBuffer.class},
                        ByteBuffer.wrap(payload))));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }

    @Test
    void mutatedStepPayloadsGiveAMigrationIndexOrFailWithFlashException() {
        int n = FuzzSupport.iterations(1000);
        byte[] index1 = {1, 0};
        Fuzzer.Report report = FuzzSupport.print("flash.UpdateRecord.indexOf", new Fuzzer(152, n, FlashException.class)
                .run(List.of(index1), payload -> FuzzSupport.invokeStatic(RECORD, "indexOf",
                        new Class<?>[] {ByteBuffer.class, int.class}, ByteBuffer.wrap(payload), 2)));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }
}
