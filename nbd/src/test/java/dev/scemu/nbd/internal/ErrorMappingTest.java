package dev.scemu.nbd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;
import org.junit.jupiter.api.Test;

/** Every error category has its NBD error value. */
class ErrorMappingTest {

    /** A module's exception as any layer under an export could throw it. */
    private static final class AnyLayerException extends ScemuException {
        private static final long serialVersionUID = 1L;

        AnyLayerException(ErrorCategory category) {
            super(category, category, "from some layer");
        }

        @Override
        public ErrorCategory code() {
            return category();
        }
    }

    @Test
    void categoriesMapToNbdErrors() {
        assertThat(errno(ErrorCategory.NO_SPACE)).isEqualTo(NbdProtocol.NBD_ENOSPC);
        assertThat(errno(ErrorCategory.READ_ONLY)).isEqualTo(NbdProtocol.NBD_EPERM);
        assertThat(errno(ErrorCategory.UNTRUSTED)).isEqualTo(NbdProtocol.NBD_EPERM);
        assertThat(errno(ErrorCategory.INVALID_ARGUMENT)).isEqualTo(NbdProtocol.NBD_EINVAL);
        assertThat(errno(ErrorCategory.NOT_FOUND)).isEqualTo(NbdProtocol.NBD_EINVAL);
        assertThat(errno(ErrorCategory.UNSUPPORTED)).isEqualTo(NbdProtocol.NBD_EINVAL);
        for (ErrorCategory category : new ErrorCategory[] {ErrorCategory.DEVICE_FAILED, ErrorCategory.CORRUPT_DATA,
                ErrorCategory.BUSY, ErrorCategory.INVALID_STATE, ErrorCategory.ENVIRONMENT}) {
            assertThat(errno(category)).as(category.name()).isEqualTo(NbdProtocol.NBD_EIO);
        }
    }

    @Test
    void coreErrorsKeepTheirFormerValues() {
        assertThat(ErrorMapping.errorOf(new CoreException(CoreError.LOG_FULL, "x"))).isEqualTo(NbdProtocol.NBD_ENOSPC);
        assertThat(ErrorMapping.errorOf(new CoreException(CoreError.READ_ONLY, "x"))).isEqualTo(NbdProtocol.NBD_EPERM);
        assertThat(ErrorMapping.errorOf(new CoreException(CoreError.OUT_OF_RANGE, "x"))).isEqualTo(NbdProtocol.NBD_EINVAL);
        assertThat(ErrorMapping.errorOf(new CoreException(CoreError.MEDIUM_ERROR, "x"))).isEqualTo(NbdProtocol.NBD_EIO);
        assertThat(ErrorMapping.errorOf(new CoreException(CoreError.CLOSED, "x"))).isEqualTo(NbdProtocol.NBD_EIO);
    }

    private static int errno(ErrorCategory category) {
        return ErrorMapping.errorOf(new AnyLayerException(category));
    }
}
