/**
 * scemu benchmarks module (see docs/architecture.md). Not implemented yet.
 */
package dev.scemu.benchmarks;
