/**
 * Test tools for scemu and for vendors' own CI: the {@code @SimulatedController} JUnit extension
 * and, in controller-core, {@link dev.scemu.core.Fuzzer} (seeded mutation of valid encodings
 * against a decoder), {@link dev.scemu.core.CrashPointExplorer} and {@link dev.scemu.core.PowerDomain};
 * the deterministic whole-controller simulation is in {@link dev.scemu.testkit.sim}.
 */
package dev.scemu.testkit;
