package dev.scemu.cli;

import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;
import java.util.EnumMap;
import java.util.Map;

/**
 * The exit statuses of {@code scemu}: one per {@link ErrorCategory} of the library's exceptions,
 * so a vendor's script can tell a full snapshot store from a failed disk without parsing the
 * message. Documented in docs/architecture.md (One error family); the numbers are stable.
 *
 * <pre>
 *  0  success                    10 INVALID_ARGUMENT   14 CORRUPT_DATA    18 UNSUPPORTED
 *  1  any other failure          11 NOT_FOUND          15 UNTRUSTED       19 INVALID_STATE
 *  2  command-line usage error   12 NO_SPACE           16 DEVICE_FAILED   20 ENVIRONMENT
 *                                13 READ_ONLY          17 BUSY
 * </pre>
 */
final class ExitStatus {

    static final int OK = 0;
    static final int FAILURE = 1;
    static final int USAGE = 2;

    private static final Map<ErrorCategory, Integer> BY_CATEGORY = new EnumMap<>(ErrorCategory.class);

    static {
        BY_CATEGORY.put(ErrorCategory.INVALID_ARGUMENT, 10);
        BY_CATEGORY.put(ErrorCategory.NOT_FOUND, 11);
        BY_CATEGORY.put(ErrorCategory.NO_SPACE, 12);
        BY_CATEGORY.put(ErrorCategory.READ_ONLY, 13);
        BY_CATEGORY.put(ErrorCategory.CORRUPT_DATA, 14);
        BY_CATEGORY.put(ErrorCategory.UNTRUSTED, 15);
        BY_CATEGORY.put(ErrorCategory.DEVICE_FAILED, 16);
        BY_CATEGORY.put(ErrorCategory.BUSY, 17);
        BY_CATEGORY.put(ErrorCategory.UNSUPPORTED, 18);
        BY_CATEGORY.put(ErrorCategory.INVALID_STATE, 19);
        BY_CATEGORY.put(ErrorCategory.ENVIRONMENT, 20);
    }

    private ExitStatus() {
    }

    static int of(ErrorCategory category) {
        return BY_CATEGORY.get(category);
    }

    /**
     * The status of a failed command: 2 for a {@link UsageException}, else the category of the
     * outermost scemu exception in the cause chain, else 1.
     */
    static int of(Throwable failure) {
        if (failure instanceof UsageException) {
            return USAGE;
        }
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ScemuException scemu) {
                return of(scemu.category());
            }
            if (t instanceof CliException cli && cli.category() != null) {
                return of(cli.category());
            }
        }
        return FAILURE;
    }
}
