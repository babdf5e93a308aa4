package dev.scemu.flash;

/**
 * The post-boot self-check of a trial image: run right after the switch; returning false (or
 * throwing) reverts to the backup copy. The control unit plugs its own (array assembles, metadata
 * readable, ...).
 */
@FunctionalInterface
public interface SelfCheck {

    boolean check(FirmwareImage running);

    static SelfCheck alwaysPasses() {
        return image -> true;
    }
}
