/**
 * NBD server exporting any {@link dev.scemu.core.BlockDevice} over TCP or a unix domain socket:
 * fixed newstyle handshake, {@code NBD_OPT_GO}/{@code INFO}/{@code LIST}/{@code EXPORT_NAME}/{@code ABORT},
 * structured replies, READ/WRITE(FUA)/FLUSH/TRIM/WRITE_ZEROES/DISC with several requests in flight per
 * connection. Entry point: {@link dev.scemu.nbd.NbdServer#builder()}. The supported protocol subset
 * is described in {@code docs/nbd.md}. Implementation classes live in {@code dev.scemu.nbd.internal}.
 */
package dev.scemu.nbd;
