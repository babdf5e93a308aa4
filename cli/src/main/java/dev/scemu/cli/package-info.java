/** The {@code scemu} command line (picocli). Entry point: {@link dev.scemu.cli.Main}. */
package dev.scemu.cli;
