package dev.scemu.nbd.internal;

import dev.scemu.core.CoreException;

/** Maps device errors to NBD error values. */
final class ErrorMapping {

    private ErrorMapping() {
    }

    static int errorOf(CoreException e) {
        switch (e.code()) {
            case READ_ONLY:
                return NbdProtocol.NBD_EPERM;
            case OUT_OF_RANGE:
            case MISALIGNED:
            case INVALID_ARGUMENT:
            case BUFFER_TOO_SMALL:
                return NbdProtocol.NBD_EINVAL;
            case LOG_FULL:
                return NbdProtocol.NBD_ENOSPC;
            default:
                // MEDIUM_ERROR, DEVICE_FAILED, POWER_LOST, IO_ERROR, CORRUPT_RECORD, CLOSED, ...
                return NbdProtocol.NBD_EIO;
        }
    }
}
