package io.batchwise.backend;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.layer.ParamSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each parameter lives in the flat buffers: trainable parameters (and, at the same offsets,
 * their gradients) in one buffer, non-trainable state (BatchNorm running statistics) in another.
 * One flat buffer each lets an optimizer update every weight with one pass (or one primitive).
 */
public final class ParameterLayout {

    /** One parameter: its node, spec and element offset in the values (or state) buffer. */
    public record Slot(Node node, ParamSpec spec, long offset) {
        public long size() {
            return spec.shape().size();
        }

        public String key() {
            return node.name() + "." + spec.name();
        }
    }

    private final Map<String, Slot> slots;
    private final long trainableSize;
    private final long stateSize;

    public ParameterLayout(Graph graph) {
        Map<String, Slot> m = new LinkedHashMap<>();
        long t = 0;
        long s = 0;
        for (Node n : graph.nodes()) {
            for (ParamSpec p : n.params()) {
                Slot slot = new Slot(n, p, p.trainable() ? t : s);
                m.put(slot.key(), slot);
                if (p.trainable()) {
                    t += p.shape().size();
                } else {
                    s += p.shape().size();
                }
            }
        }
        this.slots = Collections.unmodifiableMap(m);
        this.trainableSize = t;
        this.stateSize = s;
    }

    public List<Slot> slots() {
        return new ArrayList<>(slots.values());
    }

    /** The slot of parameter {@code param} of node {@code node}, e.g. ("conv1", "weight"). */
    public Slot slot(String node, String param) {
        Slot s = slots.get(node + "." + param);
        if (s == null) {
            throw new IllegalArgumentException("no parameter '" + param + "' in node '" + node + "'; parameters: " + slots.keySet());
        }
        return s;
    }

    /** Elements in the trainable buffer (and in the gradient buffer). */
    public long trainableSize() {
        return trainableSize;
    }

    /** Elements in the state buffer. */
    public long stateSize() {
        return stateSize;
    }
}
