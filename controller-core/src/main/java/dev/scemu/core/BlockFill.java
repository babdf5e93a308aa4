package dev.scemu.core;

/**
 * Computes the bytes of a write in place: {@link BlockDevice#writeComputed} calls it once with the
 * native address the bytes go to (the device's own memory, or the caller's scratch buffer) and
 * their length. It must write exactly {@code [address, address + length)}, read nothing there
 * (the memory holds the old contents or garbage), and not throw once it started writing. The
 * RAID-5 full-stripe write is the user: its parity is XORed straight into the parity member.
 */
@FunctionalInterface
public interface BlockFill {

    /** Writes {@code length} bytes at native address {@code address}. */
    void fill(long address, int length);
}
