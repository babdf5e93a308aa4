/**
 * scemu flash module: the NVRAM {@link dev.scemu.flash.FlashDevice}, the MCUboot-style
 * {@link dev.scemu.flash.FirmwareImage} format (see {@code docs/firmware-image.md}) and the firmware
 * lifecycle ({@link dev.scemu.flash.FirmwareManager}: boot inspection, backup, recovery, periodic
 * inspection, concurrent update with migrations and trial boot), written against the small storage
 * interfaces {@link dev.scemu.flash.FirmwareStore}, {@link dev.scemu.flash.BackupRegion} and
 * {@link dev.scemu.flash.UpdateJournal} so the control unit can plug a GPT partition in.
 *
 * <p>This package is the public API, and holds only:
 * <ul>
 *   <li>interfaces, each with its factory: {@link dev.scemu.flash.FlashDevice#builder()},
 *       {@link dev.scemu.flash.FirmwareManager#builder()}, {@link dev.scemu.flash.FirmwareStore#onFlash},
 *       {@link dev.scemu.flash.BackupRegion#on}, {@link dev.scemu.flash.UpdateJournal#openOrFormat};
 *       {@link dev.scemu.flash.HostIoGate} and {@link dev.scemu.flash.PeriodicInspector} come from the
 *       manager; the SPIs a control unit implements ({@link dev.scemu.flash.Migration},
 *       {@link dev.scemu.flash.SelfCheck}, {@link dev.scemu.flash.ImageActivator},
 *       {@link dev.scemu.flash.FirmwareListener});</li>
 *   <li>records and enums: geometry, stats, reports, events, options, versions, TLVs;</li>
 *   <li>the error family: {@link dev.scemu.flash.FlashError} and {@link dev.scemu.flash.FlashException};</li>
 *   <li>immutable values and static factories: {@link dev.scemu.flash.FirmwareImage} (only a
 *       verified image is ever one), {@link dev.scemu.flash.TrustedKeys},
 *       {@link dev.scemu.flash.KeyPem}, {@link dev.scemu.flash.Migrations}.</li>
 * </ul>
 * Implementations (the flash emulation, the manager and its gate, parsers, writers, layouts,
 * journals, the compatibility checker) live in {@code dev.scemu.flash.internal}, which other modules
 * never use (the boundary rule in {@code docs/architecture.md}).
 */
package dev.scemu.flash;
