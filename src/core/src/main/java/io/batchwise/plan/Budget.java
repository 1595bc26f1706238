package io.batchwise.plan;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A memory budget in bytes, and where the number came from.
 *
 * @param bytes  bytes a training step may use
 * @param source how it was obtained, for the plan's report
 */
public record Budget(long bytes, String source) {
    private static final Pattern SIZE = Pattern.compile("(?i)\\s*(\\d+(?:\\.\\d+)?)\\s*(b|kib|mib|gib|tib|kb|mb|gb|tb|k|m|g|t)?\\s*");

    public Budget {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a memory budget must be positive, got " + bytes + " bytes (" + source + ")");
        }
    }

    public static Budget of(long bytes) {
        return new Budget(bytes, "explicit");
    }

    /**
     * Parses sizes such as {@code 64MiB}, {@code 1.5GiB}, {@code 500MB}, {@code 1048576}. Binary
     * suffixes (KiB, MiB, GiB, TiB; K, M, G, T) are powers of 1024, decimal ones (KB, MB, GB, TB)
     * powers of 1000.
     */
    public static Budget parse(String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("cannot read '" + text + "' as a memory size; write e.g. 64MiB, 2GiB or 500MB");
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        double mult = switch (unit) {
            case "b" -> 1;
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "t", "tib" -> 1L << 40;
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            default -> 1e12;
        };
        return new Budget((long) (v * mult), "explicit " + text.trim());
    }

    /**
     * What this process may use for native tensors on the host: the smaller of physical memory and
     * the cgroup limit, less the Java heap's maximum and {@code marginBytes}.
     */
    public static Budget host(long marginBytes) {
        long physical = physicalMemory();
        long cgroup = cgroupLimit();
        long limit = Math.min(physical, cgroup);
        long heap = Runtime.getRuntime().maxMemory();
        long bytes = limit - heap - marginBytes;
        String src = String.format("host: min(physical %s, cgroup %s) - heap %s - margin %s",
                human(physical), cgroup == Long.MAX_VALUE ? "none" : human(cgroup), human(heap), human(marginBytes));
        if (bytes <= 0) {
            throw new IllegalStateException("no memory left for tensors: " + src);
        }
        return new Budget(bytes, src);
    }

    static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Long.MAX_VALUE;
    }

    /** The cgroup v2 or v1 memory limit of this process, or Long.MAX_VALUE when there is none. */
    static long cgroupLimit() {
        for (String f : new String[] {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
            try {
                String s = Files.readString(Path.of(f)).trim();
                if (!s.equals("max")) {
                    long v = Long.parseLong(s);
                    if (v > 0 && v < (1L << 62)) {
                        return v;
                    }
                }
            } catch (IOException | NumberFormatException | SecurityException e) {
                // no such controller here: try the next, else no limit
            }
        }
        return Long.MAX_VALUE;
    }

    /** e.g. {@code 64.0 MiB}. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    @Override
    public String toString() {
        return human(bytes) + " (" + source + ")";
    }
}
