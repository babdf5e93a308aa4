/**
 * Deterministic simulation of a whole storage control unit: {@link dev.scemu.testkit.sim.Simulation}
 * plays a seeded scenario (host I/O interleaved with disk, power, flash, firmware and snapshot
 * events) on a {@link dev.scemu.testkit.sim.SimClock}, checks every step against a reference model
 * and records a {@link dev.scemu.testkit.sim.Trace} whose hash is the same for every run of a
 * seed. A broken invariant throws {@link dev.scemu.testkit.sim.SimulationFailure} with the seed
 * and a replay command. See {@code docs/testkit.md}.
 */
package dev.scemu.testkit.sim;
