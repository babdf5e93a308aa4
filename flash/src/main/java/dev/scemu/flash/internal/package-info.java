/**
 * Implementation classes of the flash module. Not API: may change without notice, and no other
 * module uses them (cli's {@code ModuleBoundaryTest}). Obtain instances through the factories of
 * {@code dev.scemu.flash}: {@code FlashDeviceImpl} is the NOR flash emulation,
 * {@code FirmwareManagerImpl} the firmware lifecycle (its class description numbers the update
 * ordering), {@code HostIoGateImpl} the switch gate; {@code ImageParser}, {@code ImageWriter} and
 * {@code FirmwareImageLayout} the image format; {@code UpdateRecord}, {@code SlotHeaderLayout} and
 * {@code RecordHeaderLayout} the on-disk records.
 */
package dev.scemu.flash.internal;
