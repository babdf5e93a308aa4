package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_CAN_MULTI_CONN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_HAS_FLAGS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_READ_ONLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FLUSH;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FUA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_TRIM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_WRITE_ZEROES;

import dev.scemu.core.BlockDevice;
import dev.scemu.nbd.NbdExport;

/** An export as the server runs it: the configuration, its transmission flags and its block locks. */
public final class ExportHandle {

    private final NbdExport export;
    private final boolean readOnly;
    private final int transmissionFlags;
    private final BlockLocks locks = new BlockLocks();

    public ExportHandle(NbdExport export) {
        this.export = export;
        this.readOnly = export.isReadOnly();
        // CAN_MULTI_CONN: the server keeps no cache; every connection reaches the same device, whose
        // flush covers every completed write, whichever thread issued it.
        int flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_CAN_MULTI_CONN;
        flags |= readOnly ? NBD_FLAG_READ_ONLY : NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
        this.transmissionFlags = flags;
    }

    public NbdExport export() {
        return export;
    }

    public String name() {
        return export.name();
    }

    public BlockDevice device() {
        return export.device();
    }

    public boolean readOnly() {
        return readOnly;
    }

    public long sizeBytes() {
        return export.sizeBytes();
    }

    public int transmissionFlags() {
        return transmissionFlags;
    }

    BlockLocks locks() {
        return locks;
    }
}
