package io.batchwise.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds backends on the class path with {@link ServiceLoader}. A backend that fails to load, or whose
 * availability check throws (a native library half present, say), is reported and skipped, never
 * allowed to take the caller down: {@code auto} then picks the next one and says why in its log line.
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {
    }

    /** Every backend on the class path, available or not, most preferred first. */
    public static List<Backend> all() {
        List<Backend> list = new ArrayList<>();
        Iterator<Backend> it = ServiceLoader.load(Backend.class).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                list.add(it.next());
            } catch (ServiceConfigurationError | LinkageError e) {
                // The iterator moves on to the next provider after an error.
                LOG.warn("a backend on the class path could not be loaded and is ignored: {}", e.toString());
            }
        }
        list.sort(Comparator.comparingInt(Backend::priority).reversed());
        return list;
    }

    /** {@code b.availability()}, with a check that throws turned into a "no" that says so. */
    public static Availability availability(Backend b) {
        try {
            Availability a = b.availability();
            return a != null ? a : Availability.no("its availability check returned nothing");
        } catch (RuntimeException | LinkageError e) {
            return Availability.no("its availability check failed: " + e);
        }
    }

    /**
     * The backend called {@code name}, or {@code auto}'s choice. Throws with the list of backends
     * on the class path when the name is unknown, and with the reason when it cannot run here.
     */
    public static Backend get(String name) {
        if (name.equals("auto")) {
            return auto().backend();
        }
        List<Backend> all = all();
        for (Backend b : all) {
            if (b.name().equals(name)) {
                Availability a = availability(b);
                if (!a.available()) {
                    throw new IllegalStateException("backend '" + name + "' cannot run here: " + a.reason());
                }
                return b;
            }
        }
        throw new IllegalArgumentException("unknown backend '" + name + "'; on the class path: auto, "
                + all.stream().map(Backend::name).collect(Collectors.joining(", ")));
    }

    /** The chosen backend and one line saying why. */
    public record Choice(Backend backend, String reason) {
    }

    /**
     * The most preferred available backend, logging one line that says which and why, and why every
     * more preferred one was skipped (e.g. {@code backend onednn (...); skipped cudnn: no NVIDIA driver ...}).
     */
    public static Choice auto() {
        StringBuilder skipped = new StringBuilder();
        for (Backend b : all()) {
            Availability a = availability(b);
            if (a.available()) {
                String reason = "backend " + b.name() + " (" + a.reason() + ")" + (skipped.length() > 0 ? "; skipped " + skipped : "");
                LOG.info("auto: {}", reason);
                return new Choice(b, reason);
            }
            skipped.append(skipped.length() > 0 ? ", " : "").append(b.name()).append(": ").append(a.reason());
        }
        throw new IllegalStateException("no backend can run here" + (skipped.length() > 0 ? ": " + skipped : " (none on the class path)"));
    }
}
