package dev.scemu.benchmarks.raid;

import dev.scemu.raid.internal.XorKernel;

/**
 * Prints the parity-XOR kernel the raid module selects in this JVM (for {@code bench/report.sh}'s
 * {@code meta.properties}, shown in REPORT.md's run table).
 */
public final class XorKernelName {

    private XorKernelName() {
    }

    public static void main(String[] args) {
        System.out.println(XorKernel.selected().description());
    }
}
