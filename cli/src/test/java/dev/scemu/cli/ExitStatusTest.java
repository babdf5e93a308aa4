package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ErrorCategory;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitError;
import dev.scemu.unit.UnitException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exit status of a failed command is its error category's (ExitStatus), whatever module threw. */
class ExitStatusTest {

    @Test
    void everyCategoryHasItsOwnStatusApartFromSuccessFailureAndUsage() {
        assertThat(Arrays.stream(ErrorCategory.values()).map(ExitStatus::of).distinct().count())
                .isEqualTo(ErrorCategory.values().length);
        assertThat(Arrays.stream(ErrorCategory.values()).map(ExitStatus::of)).doesNotContain(0, 1, 2).allMatch(s -> s < 126);
    }

    @Test
    void theOutermostScemuExceptionOfTheCauseChainDecides() {
        SnapshotException full = new SnapshotException(SnapshotError.STORE_FULL, "no free block");
        assertThat(ExitStatus.of(new ExecutionException(full))).isEqualTo(12);
        assertThat(ExitStatus.of(new UnitException(UnitError.READ_ONLY, "read-only", full))).isEqualTo(13);
        assertThat(ExitStatus.of(new CoreException(CoreError.DEVICE_FAILED, "disk0"))).isEqualTo(16);
        assertThat(ExitStatus.of(new IllegalStateException("x"))).isEqualTo(1);
        assertThat(ExitStatus.of(new UsageException("--port 99999 is not in 0..65535"))).isEqualTo(ExitStatus.USAGE);
    }

    @Test
    void commandsExitWithTheirCategorysStatus(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        CliTestSupport.Result unknown = scemu("snapshot", "delete", dir, "--id", "99");
        assertThat(unknown.status()).as(unknown.err()).isEqualTo(ExitStatus.of(ErrorCategory.NOT_FOUND));

        try (StorageControlUnit owner = StorageControlUnit.open(dir)) {
            CliTestSupport.Result busy = scemu("snapshot", "create", dir, "daily").failsWithOneLine("UNIT_BUSY");
            assertThat(busy.status()).isEqualTo(ExitStatus.of(ErrorCategory.BUSY)).isEqualTo(17);
        }
        assertThat(scemu("snapshot", "create", dir, "--no-such-option").status()).isEqualTo(ExitStatus.USAGE);
    }
}
