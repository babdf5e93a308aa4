/**
 * scemu control-unit module (see docs/architecture.md). Not implemented yet.
 */
package dev.scemu.unit;
