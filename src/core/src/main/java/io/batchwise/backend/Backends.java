package io.batchwise.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Finds backends on the class path with {@link ServiceLoader}. */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {
    }

    /** Every backend on the class path, available or not, most preferred first. */
    public static List<Backend> all() {
        List<Backend> list = new ArrayList<>();
        for (Backend b : ServiceLoader.load(Backend.class)) {
            list.add(b);
        }
        list.sort(Comparator.comparingInt(Backend::priority).reversed());
        return list;
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
                Availability a = b.availability();
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

    /** The most preferred available backend, logging one line that says which and why. */
    public static Choice auto() {
        StringBuilder skipped = new StringBuilder();
        for (Backend b : all()) {
            Availability a = b.availability();
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
