package dev.scemu.flash;

/**
 * Called during the switch, with host I/O paused, to make {@code image} the running code (the
 * control unit reloads its firmware-dependent state). Keep it short: its duration is the pause.
 */
@FunctionalInterface
public interface ImageActivator {

    void activate(FirmwareImage image);

    static ImageActivator none() {
        return image -> { };
    }
}
