package dev.scemu.nbd.internal;

import dev.scemu.core.ScemuException;

/**
 * Maps scemu errors to NBD error values by {@link dev.scemu.core.ErrorCategory}, so an error of any
 * layer under an export (device, RAID, snapshot store, gate) reaches the client as what it is:
 * a full snapshot store is {@code ENOSPC}, not {@code EIO}. NBD has no {@code EROFS}: read-only is
 * {@code EPERM}, as qemu-nbd and nbdkit answer.
 */
final class ErrorMapping {

    private ErrorMapping() {
    }

    static int errorOf(ScemuException e) {
        return switch (e.category()) {
            case NO_SPACE -> NbdProtocol.NBD_ENOSPC;
            case READ_ONLY, UNTRUSTED -> NbdProtocol.NBD_EPERM;
            case INVALID_ARGUMENT, NOT_FOUND, UNSUPPORTED -> NbdProtocol.NBD_EINVAL;
            // DEVICE_FAILED, CORRUPT_DATA, BUSY, INVALID_STATE (closed), ENVIRONMENT
            default -> NbdProtocol.NBD_EIO;
        };
    }
}
