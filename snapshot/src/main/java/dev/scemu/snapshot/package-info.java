/**
 * scemu snapshot module (see docs/architecture.md). Not implemented yet.
 */
package dev.scemu.snapshot;
