package dev.scemu.core;

/**
 * Writes a caller announced with {@link BlockDevice#announceWrites} before issuing them (md's
 * plug): closing it tells the device they have all been issued (or will not be). Close is
 * idempotent and never throws.
 */
@FunctionalInterface
public interface AnnouncedWrites extends AutoCloseable {

    /** An announcement the device did nothing for: closing it does nothing. */
    AnnouncedWrites NONE = () -> { };

    @Override
    void close();
}
