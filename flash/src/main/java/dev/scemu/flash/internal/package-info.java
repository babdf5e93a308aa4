/**
 * Implementation classes of the flash module. Not API: may change without notice. Obtain
 * instances through the factories of {@code dev.scemu.flash}.
 */
package dev.scemu.flash.internal;
