package com.example.nas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scemu.testkit.sim.Simulation;
import dev.scemu.testkit.sim.SimulationConfig;
import dev.scemu.testkit.sim.SimulationResult;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The seeded whole-unit simulation as a vendor runs it: every step checks flushed data, snapshots,
 * parity, firmware and meters against scemu's reference model and throws {@code SimulationFailure}
 * (seed, step, replay command) when one breaks. The step hook is where a vendor adds its own checks.
 */
class SimulationSeedsTest {

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void seededRunKeepsEveryInvariantAndReplaysExactly(long seed) {
        AtomicInteger hookCalls = new AtomicInteger();
        SimulationConfig config = SimulationConfig.forSeed(seed).withSteps(40)
                .withStepHook((step, unit) -> {
                    // a vendor's own invariant: the unit always presents its whole host volume
                    assertTrue(unit.host().blockCount() > 0, "no host volume at step " + step);
                    hookCalls.incrementAndGet();
                });
        SimulationResult first = new Simulation(config).run();
        SimulationResult replay = new Simulation(SimulationConfig.forSeed(seed).withSteps(40)).run();

        assertEquals(seed, first.seed());
        assertEquals(40, hookCalls.get(), "the hook runs once per step");
        assertEquals(first.traceHash(), replay.traceHash(), "same seed, same trace");
    }
}
