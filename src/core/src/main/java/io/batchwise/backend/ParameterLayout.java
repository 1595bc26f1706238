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
 *
 * <p>A backend may ask for an {@link #alignment()} (its {@link Backend#parameterLayout}): every slot then
 * starts at a multiple of that many elements, with zeros between slots (the cuDNN backend's 64 floats =
 * 256 bytes, what cuDNN and cuBLAS assume of a pointer). The buffers hold that padding; the <em>logical</em>
 * order (checkpoints, model files, {@link Parameters#logicalValues()}) is the parameters packed one after
 * another, whatever the alignment. With alignment 1 (the default) the two are the same.
 */
public final class ParameterLayout {

    /**
     * One parameter: its node, spec, element offset in the values (or state) buffer, and its offset in the
     * packed logical order (the same without alignment).
     */
    public record Slot(Node node, ParamSpec spec, long offset, long logicalOffset) {
        public long size() {
            return spec.shape().size();
        }

        public String key() {
            return node.name() + "." + spec.name();
        }
    }

    private final Map<String, Slot> slots;
    private final int alignment;
    private final long trainableSize;
    private final long stateSize;
    private final long logicalTrainableSize;
    private final long logicalStateSize;

    /** Packed: each parameter right after the previous one. */
    public ParameterLayout(Graph graph) {
        this(graph, 1);
    }

    /** Each slot at a multiple of {@code alignment} elements (a power of two). */
    public ParameterLayout(Graph graph, int alignment) {
        if (alignment < 1 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("a parameter alignment is a power of two, got " + alignment);
        }
        this.alignment = alignment;
        Map<String, Slot> m = new LinkedHashMap<>();
        long t = 0;
        long s = 0;
        long lt = 0;
        long ls = 0;
        for (Node n : graph.nodes()) {
            for (ParamSpec p : n.params()) {
                long size = p.shape().size();
                Slot slot;
                if (p.trainable()) {
                    t = align(t);
                    slot = new Slot(n, p, t, lt);
                    t += size;
                    lt += size;
                } else {
                    s = align(s);
                    slot = new Slot(n, p, s, ls);
                    s += size;
                    ls += size;
                }
                m.put(slot.key(), slot);
            }
        }
        this.slots = Collections.unmodifiableMap(m);
        this.trainableSize = t;
        this.stateSize = s;
        this.logicalTrainableSize = lt;
        this.logicalStateSize = ls;
    }

    private long align(long offset) {
        return (offset + alignment - 1) / alignment * alignment;
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

    /** Elements each slot's offset is a multiple of; 1 when packed. */
    public int alignment() {
        return alignment;
    }

    /** Whether the buffers hold padding between slots (their sizes differ from the logical ones). */
    public boolean padded() {
        return trainableSize != logicalTrainableSize || stateSize != logicalStateSize;
    }

    /** Elements in the trainable buffer (and in the gradient buffer), padding included. */
    public long trainableSize() {
        return trainableSize;
    }

    /** Elements in the state buffer, padding included. */
    public long stateSize() {
        return stateSize;
    }

    /** Trainable values without padding: the graph's parameter count. */
    public long logicalTrainableSize() {
        return logicalTrainableSize;
    }

    /** State values without padding. */
    public long logicalStateSize() {
        return logicalStateSize;
    }

    /**
     * The one rule for whether parameters laid out as {@code parameters} can be bound to a plan whose graph
     * lays them out as this: the same slots (node, parameter, shape) at the same offsets, hence the same
     * alignment. Throws {@link IllegalArgumentException} naming both layouts' sizes and the first slot that differs.
     */
    public void requireFits(ParameterLayout parameters) {
        List<String> mine = describe(this);
        List<String> theirs = describe(parameters);
        if (mine.equals(theirs)) {
            return;
        }
        int i = 0;
        while (i < mine.size() && i < theirs.size() && mine.get(i).equals(theirs.get(i))) {
            i++;
        }
        throw new IllegalArgumentException("parameters of another graph or layout: the parameters hold " + parameters.trainableSize
                + " trainable and " + parameters.stateSize + " state values (aligned to " + parameters.alignment + "), this plan's graph "
                + trainableSize + " and " + stateSize + " (aligned to " + alignment + "); first difference: the parameters have "
                + (i < theirs.size() ? theirs.get(i) : "nothing more") + ", the plan " + (i < mine.size() ? mine.get(i) : "nothing more"));
    }

    /** Each slot as {@code node.param (shape) @offset}. */
    private static List<String> describe(ParameterLayout l) {
        return l.slots.values().stream().map(s -> s.key() + " " + s.spec().shape() + " @" + s.offset()).toList();
    }
}
