package dev.scemu.raid.internal;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parity-XOR kernels {@link Xor} can run, and the one place that chooses between them.
 *
 * <h2>Selection</h2>
 * Once per JVM, from the system property {@value #PROPERTY}:
 * <ul>
 *   <li>unset or {@code auto}: {@link #ISAL} when ISA-L's library loads, else {@link #JAVA};</li>
 *   <li>{@code java}: {@link #JAVA};</li>
 *   <li>{@code isal}: {@link #ISAL}; if the library does not load, a warning names the cause and
 *       {@link #JAVA} is used (the kernel in use is always what {@link #selected()} says);</li>
 *   <li>anything else: {@link IllegalArgumentException} naming the value.</li>
 * </ul>
 * The choice is logged at debug on first use ({@code dev.scemu.raid.internal.XorKernel}).
 *
 * <p>Under {@link #ISAL}, a call still runs the Java kernel when ISA-L cannot take it: any heap
 * buffer, a pointer not aligned to 32 bytes, fewer than 2 sources, or fewer than
 * {@link IsalXor#MIN_LENGTH} bytes (see {@link IsalXor}). Both kernels give identical bytes
 * ({@code XorDifferentialTest}).
 */
public enum XorKernel {

    /** The one-pass scalar {@code long} loops over {@code Unsafe} in {@link Xor}. */
    JAVA("java"),

    /** ISA-L's {@code xor_gen} (SSE/AVX2/AVX-512, chosen by ISA-L) through JNA direct mapping. */
    ISAL("isal");

    /** System property that overrides the selection: {@code auto} (default), {@code java}, {@code isal}. */
    public static final String PROPERTY = "scemu.xor";

    private static final Logger LOG = LoggerFactory.getLogger(XorKernel.class);

    private static final XorKernel SELECTED = select(System.getProperty(PROPERTY));

    private final String id;

    XorKernel(String id) {
        this.id = id;
    }

    /** The short name: {@code java} or {@code isal} (the values of {@value #PROPERTY}). */
    public String id() {
        return id;
    }

    /** Whether this kernel can run in this JVM (ISA-L: the library loaded). */
    public boolean available() {
        return this == JAVA || IsalXor.available();
    }

    /** Human-readable name with what backs it, e.g. for a benchmark report. */
    public String description() {
        return this == JAVA ? "java (scalar long loop over Unsafe)"
                : "isal (ISA-L xor_gen via JNA direct mapping, " + IsalXor.library() + ")";
    }

    /** The kernel {@link Xor}'s entry points without a kernel argument use. */
    public static XorKernel selected() {
        return SELECTED;
    }

    /** The selection rule (package-private for tests); logs the outcome. */
    static XorKernel select(String property) {
        String value = property == null ? "auto" : property.trim().toLowerCase(Locale.ROOT);
        XorKernel kernel;
        switch (value) {
            case "auto" -> kernel = IsalXor.available() ? ISAL : JAVA;
            case "java" -> kernel = JAVA;
            case "isal" -> {
                if (IsalXor.available()) {
                    kernel = ISAL;
                } else {
                    LOG.warn("{}=isal but ISA-L is not loadable ({}); using the java XOR kernel", PROPERTY,
                            IsalXor.loadFailure().getMessage());
                    kernel = JAVA;
                }
            }
            default -> throw new IllegalArgumentException(
                    PROPERTY + "=" + property + " is not one of auto, java, isal");
        }
        LOG.debug("parity XOR kernel: {} ({}={})", kernel.description(), PROPERTY, value);
        return kernel;
    }
}
