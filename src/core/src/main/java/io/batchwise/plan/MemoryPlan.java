package io.batchwise.plan;

import io.batchwise.Graph;
import io.batchwise.Node;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every buffer one training (or inference) step of a compiled plan needs, with its size in bytes
 * as the backend will allocate it (blocked layouts and padding included) and its lifetime on the
 * step's timeline. The peak is the largest sum of live bytes at any step, not the sum of all.
 *
 * <p>Timeline for a graph of {@code n} nodes in topological order: forward of node {@code i} is
 * step {@code i}, the loss is step {@code n}, backward of node {@code i} is step {@code 2n - i};
 * {@link #steps()} = {@code 2n + 1}. An inference plan uses steps {@code 0..n-1} only.
 */
public final class MemoryPlan {

    /** What a buffer holds. */
    public enum Kind {
        PARAMETER, GRADIENT, STATE, OPTIMIZER_STATE, INPUT, ACTIVATION, ACTIVATION_GRADIENT, WORKSPACE, SCRATCHPAD
    }

    /**
     * One buffer.
     *
     * @param name  e.g. {@code conv1.dst}
     * @param node  the node it belongs to, or {@code null} for plan-wide buffers
     * @param first first step it is live at (inclusive)
     * @param last  last step it is live at (inclusive)
     */
    public record Buffer(String name, String node, Kind kind, long bytes, int first, int last) {
        public Buffer {
            Objects.requireNonNull(name);
            Objects.requireNonNull(kind);
            if (bytes < 0 || first > last) {
                throw new IllegalArgumentException("buffer " + name + ": bytes " + bytes + ", steps " + first + ".." + last);
            }
        }

        public boolean liveAt(int step) {
            return step >= first && step <= last;
        }
    }

    private final int microBatch;
    private final int steps;
    private final List<Buffer> buffers;

    public MemoryPlan(int microBatch, int steps, List<Buffer> buffers) {
        this.microBatch = microBatch;
        this.steps = steps;
        this.buffers = List.copyOf(buffers);
    }

    public int microBatch() {
        return microBatch;
    }

    public int steps() {
        return steps;
    }

    public List<Buffer> buffers() {
        return buffers;
    }

    /** Bytes live at {@code step}. */
    public long liveBytes(int step) {
        long s = 0;
        for (Buffer b : buffers) {
            if (b.liveAt(step)) {
                s += b.bytes();
            }
        }
        return s;
    }

    /** The step with the most live bytes. */
    public int peakStep() {
        int best = 0;
        long max = -1;
        for (int t = 0; t < steps; t++) {
            long l = liveBytes(t);
            if (l > max) {
                max = l;
                best = t;
            }
        }
        return best;
    }

    public long peakBytes() {
        return liveBytes(peakStep());
    }

    /** Sum of all buffers: what a plan without lifetime reuse would allocate. */
    public long totalBytes() {
        return buffers.stream().mapToLong(Buffer::bytes).sum();
    }

    public Map<Kind, Long> bytesByKind() {
        Map<Kind, Long> m = new EnumMap<>(Kind.class);
        for (Buffer b : buffers) {
            m.merge(b.kind(), b.bytes(), Long::sum);
        }
        return m;
    }

    /** Kinds owned by {@code Parameters} (shared by every executor of a graph), not by one step. */
    public static boolean shared(Kind k) {
        return k == Kind.PARAMETER || k == Kind.GRADIENT || k == Kind.STATE || k == Kind.OPTIMIZER_STATE;
    }

    /**
     * Offsets of the step's own buffers (every kind but the {@linkplain #shared shared} ones) in one
     * arena: buffers whose lifetimes overlap never overlap in memory, so the arena is about the peak
     * of live step buffers instead of their sum. Greedy first fit, largest buffer first; offsets
     * aligned to {@link #ALIGNMENT} bytes. Computed once per plan.
     */
    public Arena arena() {
        Arena a = arena;
        if (a == null) {
            a = Arena.layout(buffers);
            arena = a;
        }
        return a;
    }

    /** Byte alignment of arena offsets: a cache line, and what oneDNN and cuDNN want. */
    public static final int ALIGNMENT = 64;

    private volatile Arena arena;

    /** Bytes of the shared buffers (parameters, gradients, state, optimizer state). */
    public long sharedBytes() {
        long s = 0;
        for (Buffer b : buffers) {
            if (shared(b.kind())) {
                s += b.bytes();
            }
        }
        return s;
    }

    /** Where each step buffer lives in the arena. */
    public static final class Arena {
        private final java.util.Map<String, Long> offsets;
        private final long bytes;

        private Arena(java.util.Map<String, Long> offsets, long bytes) {
            this.offsets = java.util.Collections.unmodifiableMap(offsets);
            this.bytes = bytes;
        }

        /** The arena's size in bytes. */
        public long bytes() {
            return bytes;
        }

        /** Offset of the named buffer. */
        public long offset(String buffer) {
            Long o = offsets.get(buffer);
            if (o == null) {
                throw new IllegalArgumentException("no step buffer named '" + buffer + "' in the arena");
            }
            return o;
        }

        static Arena layout(List<Buffer> buffers) {
            List<Buffer> order = new ArrayList<>();
            for (Buffer b : buffers) {
                if (!shared(b.kind())) {
                    order.add(b);
                }
            }
            order.sort((x, y) -> Long.compare(y.bytes(), x.bytes()));
            java.util.Map<String, Long> offsets = new java.util.LinkedHashMap<>();
            List<Buffer> placed = new ArrayList<>();
            List<Long> at = new ArrayList<>();
            long end = 0;
            for (Buffer b : order) {
                if (offsets.containsKey(b.name())) {
                    throw new IllegalArgumentException("two step buffers are named '" + b.name() + "'");
                }
                // Intervals [offset, offset + bytes) of placed buffers whose lifetimes overlap b's, by offset.
                List<long[]> busy = new ArrayList<>();
                for (int i = 0; i < placed.size(); i++) {
                    Buffer p = placed.get(i);
                    if (p.first() <= b.last() && b.first() <= p.last()) {
                        busy.add(new long[] {at.get(i), at.get(i) + p.bytes()});
                    }
                }
                busy.sort((x, y) -> Long.compare(x[0], y[0]));
                long offset = 0;
                for (long[] iv : busy) {
                    if (offset + b.bytes() <= iv[0]) {
                        break;
                    }
                    offset = Math.max(offset, align(iv[1]));
                }
                offsets.put(b.name(), offset);
                placed.add(b);
                at.add(offset);
                end = Math.max(end, offset + b.bytes());
            }
            return new Arena(offsets, align(end));
        }

        static long align(long x) {
            return (x + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        }
    }

    /** A readable table of every buffer and the totals. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-28s %-20s %14s %9s%n", "buffer", "kind", "bytes", "steps"));
        for (Buffer b : buffers) {
            sb.append(String.format("%-28s %-20s %,14d %4d..%-4d%n", b.name(), b.kind(), b.bytes(), b.first(), b.last()));
        }
        sb.append(String.format("micro-batch %d: total %,d bytes, peak %,d bytes at step %d of %d, arena %,d bytes%n",
                microBatch, totalBytes(), peakBytes(), peakStep(), steps, arena().bytes()));
        return sb.toString();
    }

    /**
     * Collects a plan's buffers with lifetimes derived from the graph, so every backend applies
     * the same timeline rules and only supplies sizes.
     */
    public static final class Builder {
        private final Graph graph;
        private final int microBatch;
        private final boolean training;
        private final int n;
        private final List<Buffer> buffers = new ArrayList<>();

        public Builder(Graph graph, int microBatch, boolean training) {
            this.graph = graph;
            this.microBatch = microBatch;
            this.training = training;
            this.n = graph.nodes().size();
        }

        public int steps() {
            return training ? 2 * n + 1 : n;
        }

        public int forwardStep(Node node) {
            return node.index();
        }

        public int backwardStep(Node node) {
            return 2 * n - node.index();
        }

        /** Live for the whole step (parameters, gradients, state, optimizer state, scratchpad). */
        public Builder whole(String name, String node, Kind kind, long bytes) {
            buffers.add(new Buffer(name, node, kind, bytes, 0, steps() - 1));
            return this;
        }

        /**
         * A node's output (or an input's data). In training it lives until the node's backward,
         * since the node or its consumers read it there; in inference until its last reader.
         */
        public Builder activation(Node node, Kind kind, long bytes) {
            int last;
            if (training) {
                last = backwardStep(node);
            } else {
                last = node == graph.output() ? n - 1 : node.index();
                for (Node c : graph.consumers(node.name())) {
                    last = Math.max(last, c.index());
                }
            }
            buffers.add(new Buffer(node.name() + ".dst", node.name(), kind, bytes, forwardStep(node), last));
            return this;
        }

        /** Gradient with respect to a node's output: from its first consumer's backward to its own. */
        public Builder activationGradient(Node node, long bytes) {
            int first = node == graph.output() ? n : backwardStep(node);
            for (Node c : graph.consumers(node.name())) {
                first = Math.min(first, backwardStep(c));
            }
            buffers.add(new Buffer(node.name() + ".diff_dst", node.name(), Kind.ACTIVATION_GRADIENT, bytes, first,
                    backwardStep(node)));
            return this;
        }

        /** A buffer a node's forward fills and its backward reads (pooling indices, BatchNorm statistics). */
        public Builder workspace(Node node, String what, long bytes) {
            return workspace(node, what, Kind.WORKSPACE, bytes);
        }

        /** As {@link #workspace(Node, String, long)}, of another kind (a bf16 plan's f32 input: {@link Kind#INPUT}). */
        public Builder workspace(Node node, String what, Kind kind, long bytes) {
            int last = training ? backwardStep(node) : forwardStep(node);
            buffers.add(new Buffer(node.name() + "." + what, node.name(), kind, bytes, forwardStep(node), last));
            return this;
        }

        /** A temporary that lives during one step only. */
        public Builder temporary(Node node, String what, Kind kind, long bytes, int step) {
            buffers.add(new Buffer(node.name() + "." + what, node.name(), kind, bytes, step, step));
            return this;
        }

        public MemoryPlan build() {
            return new MemoryPlan(microBatch, steps(), buffers);
        }
    }
}
