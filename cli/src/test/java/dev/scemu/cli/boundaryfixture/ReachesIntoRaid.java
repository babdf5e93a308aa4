package dev.scemu.cli.boundaryfixture;

import dev.scemu.raid.internal.MdRaidArray;

/** A deliberate violation for ModuleBoundaryTest: cli code naming raid's implementation class. */
public final class ReachesIntoRaid {
    private ReachesIntoRaid() {
    }

    public static String implementation() {
        return MdRaidArray.class.getName();
    }
}
