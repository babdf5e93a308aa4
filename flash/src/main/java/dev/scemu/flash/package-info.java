/**
 * scemu flash module: the NVRAM {@link dev.scemu.flash.FlashDevice}, the MCUboot-style
 * {@link dev.scemu.flash.FirmwareImage} format (see {@code docs/firmware-image.md}) and the firmware
 * lifecycle ({@link dev.scemu.flash.FirmwareManager}: boot inspection, backup, recovery, periodic
 * inspection, concurrent update with migrations and trial boot), written against the small storage
 * interfaces {@link dev.scemu.flash.FirmwareStore}, {@link dev.scemu.flash.BackupRegion} and
 * {@link dev.scemu.flash.UpdateJournal} so the control unit can plug a GPT partition in.
 *
 * <p>Public API lives in this package; implementations live in {@code dev.scemu.flash.internal}.
 */
package dev.scemu.flash;
