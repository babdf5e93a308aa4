package dev.scemu.testkit;

import dev.scemu.raid.RaidLevel;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hands a JUnit 5 test a ready {@link dev.scemu.unit.StorageControlUnit} (off-heap, default
 * firmware, its own power domain) as a parameter, closed after the test:
 *
 * <pre>{@code
 * @SimulatedController(level = RaidLevel.RAID5, disks = 4, diskMib = 16, seed = 42)
 * @Test
 * void survivesADiskFailure(StorageControlUnit unit) {
 *     unit.disk(1).failDevice();
 *     ...
 * }
 * }</pre>
 */
@Target({ElementType.METHOD, ElementType.TYPE})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(SimulatedControllerExtension.class)
public @interface SimulatedController {
    RaidLevel level() default RaidLevel.RAID5;

    int disks() default 4;

    int diskMib() default 16;

    int chunkKib() default 64;

    long seed() default 1;
}
