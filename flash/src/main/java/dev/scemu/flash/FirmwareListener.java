package dev.scemu.flash;

/** Receives {@link FirmwareEvent}s, on the thread that caused them; must not block for long. */
@FunctionalInterface
public interface FirmwareListener {
    void onEvent(FirmwareEvent event);
}
