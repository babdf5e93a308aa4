/**
 * Implementation of the NBD server; not API. {@link dev.scemu.nbd.internal.NbdProtocol} holds every
 * wire constant under its name in the NBD protocol document ({@code doc/proto.md} of the reference
 * implementation).
 */
package dev.scemu.nbd.internal;
