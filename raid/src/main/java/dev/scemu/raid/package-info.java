/**
 * scemu raid module (see docs/architecture.md). Not implemented yet.
 */
package dev.scemu.raid;
