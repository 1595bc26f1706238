package io.batchwise.peers;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A peer's command line: {@code key=value} pairs.
 * <pre>
 * model=mlp|lenet  batch=128  threads=2  warmups=3  windows=5  seconds=1
 * data=/usr/share/datasets/fashion-mnist
 * </pre>
 * plus the keys a peer adds (its thread settings). {@code threads} is the thread budget; each peer maps it to
 * its own pools and prints what it set.
 */
public final class Options {
    private final Map<String, String> values = new LinkedHashMap<>(Map.of(
            "model", "mlp", "batch", "128", "threads", "1", "warmups", "3", "windows", "5", "seconds", "1",
            "data", "/usr/share/datasets/fashion-mnist"));

    public Options(String[] args, Map<String, String> peerDefaults) {
        values.putAll(peerDefaults);
        Set<String> known = Set.copyOf(values.keySet());
        for (String a : args) {
            String[] kv = a.split("=", 2);
            if (kv.length != 2 || !known.contains(kv[0])) {
                throw new IllegalArgumentException("argument '" + a + "': expected key=value with key one of " + known);
            }
            values.put(kv[0], kv[1]);
        }
        String m = model();
        if (!m.equals("mlp") && !m.equals("lenet")) {
            throw new IllegalArgumentException("model=" + m + ": mlp or lenet");
        }
        if (batch() < 1 || threads() < 1 || windows() < 1 || seconds() <= 0) {
            throw new IllegalArgumentException("batch, threads, windows and seconds must be positive: " + values);
        }
    }

    public String get(String key) {
        return values.get(key);
    }

    public int integer(String key) {
        return Integer.parseInt(values.get(key));
    }

    public String model() {
        return values.get("model");
    }

    public int batch() {
        return integer("batch");
    }

    public int threads() {
        return integer("threads");
    }

    public int warmups() {
        return integer("warmups");
    }

    public int windows() {
        return integer("windows");
    }

    public double seconds() {
        return Double.parseDouble(values.get("seconds"));
    }

    public Path data() {
        return Path.of(values.get("data"));
    }
}
