package dev.scemu.flash;

/**
 * MCUboot image version: {@code major.minor.revision+build}, ordered field by field (build last).
 *
 * @param major 0..255
 * @param minor 0..255
 * @param revision 0..65535
 * @param build 0..4294967295
 */
public record ImageVersion(int major, int minor, int revision, long build) implements Comparable<ImageVersion> {

    public ImageVersion {
        if (major < 0 || major > 0xFF || minor < 0 || minor > 0xFF || revision < 0 || revision > 0xFFFF
                || build < 0 || build > 0xFFFF_FFFFL) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "version " + major + "." + minor + "." + revision
                    + "+" + build + " does not fit u8.u8.u16+u32");
        }
    }

    public static ImageVersion of(int major, int minor, int revision, long build) {
        return new ImageVersion(major, minor, revision, build);
    }

    /** Parses {@code "1.2.3"} or {@code "1.2.3+4"}. */
    public static ImageVersion parse(String text) {
        try {
            String[] plus = text.split("\\+", 2);
            String[] parts = plus[0].split("\\.");
            if (parts.length != 3) {
                throw new NumberFormatException("expected major.minor.revision");
            }
            return new ImageVersion(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]),
                    plus.length == 2 ? Long.parseLong(plus[1]) : 0);
        } catch (NumberFormatException e) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "version '" + text + "' is not major.minor.revision[+build]");
        }
    }

    @Override
    public int compareTo(ImageVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) {
            c = Integer.compare(minor, o.minor);
        }
        if (c == 0) {
            c = Integer.compare(revision, o.revision);
        }
        return c != 0 ? c : Long.compare(build, o.build);
    }

    public boolean isOlderThan(ImageVersion other) {
        return compareTo(other) < 0;
    }

    @Override
    public String toString() {
        return major + "." + minor + "." + revision + "+" + build;
    }
}
