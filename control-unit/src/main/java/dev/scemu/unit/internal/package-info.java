/** Implementation classes of the control unit. Not API. */
package dev.scemu.unit.internal;
