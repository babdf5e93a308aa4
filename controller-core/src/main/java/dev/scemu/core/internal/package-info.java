/**
 * Implementation classes of controller-core. Not API: may change without notice. Obtain
 * instances through {@link dev.scemu.core.Media} and the other factories of {@code dev.scemu.core}.
 */
package dev.scemu.core.internal;
