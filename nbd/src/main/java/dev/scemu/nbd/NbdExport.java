package dev.scemu.nbd;

import dev.scemu.core.BlockDevice;
import dev.scemu.nbd.internal.NbdProtocol;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One export of an {@link NbdServer}: a name clients ask for, the device behind it, a description
 * shown by {@code NBD_OPT_LIST}/{@code NBD_INFO_DESCRIPTION}, and whether writes are refused.
 * An export is read-only if {@code readOnly} is set or its device {@link BlockDevice#isReadOnly() is}.
 *
 * @param name export name, at most 4096 UTF-8 bytes, no NUL; the empty name is allowed
 * @param device the device served; the server never closes it
 * @param description human-readable text, possibly empty
 * @param readOnly whether the server refuses writes, trims and zeroing with EPERM
 */
public record NbdExport(String name, BlockDevice device, String description, boolean readOnly) {

    public NbdExport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(device, "device");
        description = description == null ? "" : description;
        checkString("export name", name);
        checkString("description of export " + name, description);
    }

    /** Whether writes are refused: by configuration or because the device is read-only. */
    public boolean isReadOnly() {
        return readOnly || device.isReadOnly();
    }

    /** Size of the export in bytes. */
    public long sizeBytes() {
        return device.geometry().capacityBytes();
    }

    private static void checkString(String what, String value) {
        if (value.indexOf('\0') >= 0) {
            throw new NbdException(NbdError.INVALID_CONFIGURATION, what + " contains a NUL character");
        }
        int bytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > NbdProtocol.MAX_STRING_BYTES) {
            throw new NbdException(NbdError.INVALID_CONFIGURATION,
                    what + " is " + bytes + " bytes long, more than " + NbdProtocol.MAX_STRING_BYTES);
        }
    }
}
