/**
 * Test tools for scemu and for vendors' own CI: {@link dev.scemu.testkit.Fuzzer} (seeded mutation
 * of valid encodings against a decoder) and, in controller-core,
 * {@link dev.scemu.core.CrashPointExplorer} and {@link dev.scemu.core.PowerDomain}; the deterministic
 * whole-controller simulation is in {@link dev.scemu.testkit.sim}.
 */
package dev.scemu.testkit;
