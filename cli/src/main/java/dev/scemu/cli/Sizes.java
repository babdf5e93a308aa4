package dev.scemu.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Byte sizes with an optional K, M, G or T suffix (binary units): {@code 512K}, {@code 16M}, {@code 1G}. */
final class Sizes implements ITypeConverter<Long> {

    @Override
    public Long convert(String value) {
        return parse(value);
    }

    static long parse(String text) {
        String value = text.trim().toUpperCase(Locale.ROOT);
        if (value.endsWith("IB")) {
            value = value.substring(0, value.length() - 2);
        } else if (value.endsWith("B") && value.length() > 1 && !Character.isDigit(value.charAt(value.length() - 2))) {
            value = value.substring(0, value.length() - 1);
        }
        int shift = 0;
        if (!value.isEmpty()) {
            switch (value.charAt(value.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                value = value.substring(0, value.length() - 1);
            } else {
                shift = 0;
            }
        }
        long number;
        try {
            number = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + text + "' is not a size (use a number with an optional K, M or G suffix)");
        }
        if (number <= 0) {
            throw new TypeConversionException("size '" + text + "' must be positive");
        }
        if (Long.numberOfLeadingZeros(number) <= shift) {
            throw new TypeConversionException("size '" + text + "' is too large");
        }
        return number << shift;
    }

    /** 16777216 → "16 MiB", 1536 → "1536 B". */
    static String format(long bytes) {
        if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        if (bytes >= 1L << 20 && bytes % (1L << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes >= 1L << 10 && bytes % (1L << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " B";
    }
}
