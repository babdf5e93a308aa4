/** Implementation of the simulation (reference model, block patterns, member geometry); not API. */
package dev.scemu.testkit.sim.internal;
