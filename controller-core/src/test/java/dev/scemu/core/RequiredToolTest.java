package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

class RequiredToolTest {

    @Test
    void aMissingToolSkipsLocallyAndFailsUnderCiWithItsName() {
        assertThatThrownBy(() -> RequiredTool.check(false, "qemu-io", "qemu-utils", false))
                .isInstanceOf(TestAbortedException.class).hasMessageContaining("qemu-io");
        assertThatThrownBy(() -> RequiredTool.check(false, "qemu-io", "qemu-utils", true))
                .isInstanceOf(AssertionError.class).isNotInstanceOf(TestAbortedException.class)
                .hasMessageContaining("CI=true requires qemu-io").hasMessageContaining("apt-get install qemu-utils");
        assertThatCode(() -> RequiredTool.check(true, "sh", "dash", true)).doesNotThrowAnyException();
    }

    @Test
    void findsProgramsOnThePathAndInSbin() {
        org.assertj.core.api.Assertions.assertThat(RequiredTool.installed("sh")).isTrue();
        org.assertj.core.api.Assertions.assertThat(RequiredTool.installed("no-such-program-scemu")).isFalse();
    }
}
