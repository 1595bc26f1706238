package io.batchwise.onednn;

import io.batchwise.backend.Availability;
import java.util.Locale;

/**
 * Probes once whether the oneDNN preset loads on this machine and caches the answer. A failed load
 * never crashes the caller: it becomes an {@link Availability} that names the platform and the
 * artifacts to add.
 */
final class OneDnnAvailability {
    static final String DNNL_ARTIFACT = "org.bytedeco:dnnl:3.11-1.5.13";
    static final String OPENCL_ARTIFACT = "org.bytedeco:opencl:3.0-1.5.13";

    private static Availability cached;

    private OneDnnAvailability() {
    }

    static synchronized Availability get() {
        if (cached == null) {
            cached = probe();
        }
        return cached;
    }

    private static Availability probe() {
        String platform = platform();
        try {
            return Availability.yes(Probe.load() + " on " + platform + ", OMP_NUM_THREADS="
                    + System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"));
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | TypeNotPresentException | ExceptionInInitializerError e) {
            return Availability.no(missingMessage(e, platform));
        }
    }

    /** The platform string JavaCPP uses for classifiers, e.g. {@code linux-x86_64}. */
    static String platform() {
        try {
            return Probe.platform();
        } catch (Throwable t) { // javacpp itself missing or broken: fall back to the JVM's own names
            return fallbackPlatform(System.getProperty("os.name"), System.getProperty("os.arch"));
        }
    }

    /** JavaCPP-style platform name from the JVM's {@code os.name} and {@code os.arch}. */
    static String fallbackPlatform(String osName, String osArch) {
        String os = osName == null ? "unknown" : osName.toLowerCase(Locale.ROOT);
        String arch = osArch == null ? "unknown" : osArch.toLowerCase(Locale.ROOT);
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            os = "macosx";
        } else if (os.startsWith("windows")) {
            os = "windows";
        } else if (os.startsWith("linux")) {
            os = "linux";
        }
        if (arch.equals("amd64") || arch.equals("x86-64")) {
            arch = "x86_64";
        } else if (arch.equals("aarch64")) {
            arch = "arm64";
        }
        return os + "-" + arch;
    }

    /**
     * What to tell the user when loading failed: the error, the platform, and the two artifacts
     * (classes and natives with the platform classifier) that make the preset load.
     */
    static String missingMessage(Throwable error, String platform) {
        StringBuilder cause = new StringBuilder();
        boolean openCl = false;
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (cause.length() > 0) {
                cause.append(" <- ");
            }
            cause.append(t.getClass().getSimpleName());
            if (t.getMessage() != null) {
                cause.append(": ").append(t.getMessage());
            }
            String text = (t.getClass().getName() + " " + t.getMessage()).toLowerCase(Locale.ROOT);
            openCl |= text.contains("opencl");
        }
        return "the oneDNN native library could not be loaded on platform " + platform + " (" + cause + ")."
                + (openCl ? " The dnnl preset inherits the OpenCL preset, which is missing." : "")
                + " Add " + DNNL_ARTIFACT + " and " + DNNL_ARTIFACT + " with classifier " + platform
                + ", plus " + OPENCL_ARTIFACT + " and " + OPENCL_ARTIFACT + " with classifier " + platform
                + " to the class path (oneDNN natives exist for linux-x86_64, linux-arm64, macosx-x86_64,"
                + " macosx-arm64 and windows-x86_64).";
    }

    /** Everything that touches preset classes, kept apart so that a missing jar fails inside {@link #probe}. */
    private static final class Probe {
        static String load() {
            org.bytedeco.javacpp.Loader.load(org.bytedeco.dnnl.global.dnnl.class);
            org.bytedeco.dnnl.dnnl_version_t v = org.bytedeco.dnnl.global.dnnl.dnnl_version();
            return "oneDNN " + v.major() + "." + v.minor() + "." + v.patch() + ", isa "
                    + org.bytedeco.dnnl.global.dnnl.get_effective_cpu_isa();
        }

        static String platform() {
            return org.bytedeco.javacpp.Loader.getPlatform();
        }
    }
}
