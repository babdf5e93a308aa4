package dev.scemu.flash;

/**
 * The result of inspecting one image copy.
 *
 * @param location where
 * @param state {@link State#VALID} (parsed, hash and signature verified), {@link State#MISSING}
 *              (erased or empty) or {@link State#CORRUPT}
 * @param image the verified image if valid, else null
 * @param detail why it is not valid, or a summary
 */
public record ImageCheck(ImageLocation location, State state, FirmwareImage image, String detail) {

    public enum State { VALID, MISSING, CORRUPT }

    public boolean isValid() {
        return state == State.VALID;
    }

    /** Whether this copy is valid and holds exactly {@code other}. */
    public boolean holds(FirmwareImage other) {
        return isValid() && image.sameImageAs(other);
    }

    @Override
    public String toString() {
        return location + ": " + state + (image != null ? " " + image.version() + " sha256 "
                + image.sha256Hex().substring(0, 16) : "") + (state != State.VALID ? " (" + detail + ")" : "");
    }
}
