package io.batchwise.backend;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A graph's parameters in a backend's memory: flat {@link #values()}, {@link #gradients()} (same
 * layout) and {@link #state()} (running statistics). Executors bind views into these buffers and
 * optimizers update them element-wise. Owns the three tensors; {@code close()} frees them.
 *
 * <p>Each parameter occupies its {@link ParameterLayout} slot. Within a slot the elements are in
 * logical (row-major) order unless the backend keeps that parameter in a kernel's layout (an
 * {@link Order}, e.g. oneDNN's blocked convolution weights), so that no step reorders it. Values and
 * gradients share the order, which element-wise updates never notice; {@link #read}, {@link #write},
 * {@link #readGradient}, {@link #logicalValues()} and checkpoints always speak logical order.
 *
 * <p>The backend also chooses the {@link ParameterLayout} ({@link Backend#parameterLayout}): an aligned one
 * leaves zeros between slots in the flat tensors. Logical arrays ({@link #logicalValues()}, {@link #logicalState()},
 * {@link #toLogical}) leave that padding out, so they are the same for every backend.
 */
public final class Parameters implements AutoCloseable {
    /**
     * A parameter stored in another element order: stored element {@code i} is logical element
     * {@code logical[i]}; {@code layout} names that order for the backend (e.g. oneDNN's {@code Acdb16a}).
     */
    public record Order(String layout, int[] logical) {
        public Order {
            logical = logical.clone();
        }

        @Override
        public int[] logical() {
            return logical.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Order other && layout.equals(other.layout) && Arrays.equals(logical, other.logical);
        }

        @Override
        public int hashCode() {
            return layout.hashCode() * 31 + Arrays.hashCode(logical);
        }

        @Override
        public String toString() {
            return layout + " (" + logical.length + " elements)";
        }
    }

    private final Graph graph;
    private final ParameterLayout layout;
    private final Backend backend;
    private final Tensor values;
    private final Tensor gradients;
    private final Tensor state;
    private final Map<String, Order> orders;
    private final Map<ParameterLayout.Slot, int[]> permutations; // Order.logical by slot, not copied per access

    private Parameters(Graph graph, ParameterLayout layout, Backend backend, Tensor values, Tensor gradients, Tensor state,
                       Map<String, Order> orders) {
        this.graph = graph;
        this.layout = layout;
        this.backend = backend;
        this.values = values;
        this.gradients = gradients;
        this.state = state;
        this.orders = Map.copyOf(orders);
        this.permutations = new HashMap<>();
        for (ParameterLayout.Slot slot : layout.slots()) {
            Order o = orders.get(slot.key());
            if (o != null) {
                permutations.put(slot, o.logical());
            }
        }
    }

    /**
     * Allocates zero-filled buffers for {@code graph} with {@code backend}, in its {@link Backend#parameterLayout} and
     * {@link Backend#parameterOrders}.
     */
    public static Parameters allocate(Backend backend, Graph graph, DataType type) {
        ParameterLayout l = backend.parameterLayout(graph);
        Map<String, Order> orders = backend.parameterOrders(graph);
        orders.forEach((key, o) -> checkOrder(l, key, o));
        // A graph without parameters still gets one-element buffers: tensors are never empty.
        Shape trainable = Shape.of((int) Math.max(1, l.trainableSize()));
        Tensor v = null;
        Tensor g = null;
        Tensor s = null;
        try {
            v = backend.allocate(trainable, type);
            g = backend.allocate(trainable, type);
            s = backend.allocate(Shape.of((int) Math.max(1, l.stateSize())), type);
            return new Parameters(graph, l, backend, v, g, s, orders);
        } catch (RuntimeException | Error e) {
            // An allocation failed (DeviceOutOfMemoryException): free the buffers allocated before it.
            closeAll(v, g, s);
            throw e;
        }
    }

    private static void closeAll(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t != null) {
                t.close();
            }
        }
    }

    private static void checkOrder(ParameterLayout l, String key, Order o) {
        ParameterLayout.Slot slot = l.slots().stream().filter(s -> s.key().equals(key)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("an order for '" + key + "', which is no parameter; parameters: "
                        + l.slots().stream().map(ParameterLayout.Slot::key).toList()));
        int[] p = o.logical;
        boolean[] seen = new boolean[p.length];
        boolean permutation = slot.spec().trainable() && p.length == slot.size();
        for (int i = 0; permutation && i < p.length; i++) {
            permutation = p[i] >= 0 && p[i] < p.length && !seen[p[i]];
            if (permutation) {
                seen[p[i]] = true;
            }
        }
        if (!permutation) {
            throw new IllegalArgumentException("order " + o + " of " + key + " (" + slot.size() + " values, "
                    + (slot.spec().trainable() ? "trainable" : "state") + ") is not a permutation of a trainable parameter");
        }
    }

    public Graph graph() {
        return graph;
    }

    public ParameterLayout layout() {
        return layout;
    }

    public Backend backend() {
        return backend;
    }

    /** Trainable parameters, flat. */
    public Tensor values() {
        return values;
    }

    /** Gradients, flat, at the same offsets as {@link #values()}. */
    public Tensor gradients() {
        return gradients;
    }

    /** Non-trainable state (BatchNorm running mean and variance), flat. */
    public Tensor state() {
        return state;
    }

    /**
     * Fills every parameter and state tensor from its spec's initialiser. Each parameter draws
     * from its own stream seeded by (seed, node, name), so adding a layer does not change the
     * others' initial values.
     */
    public Parameters initialize(long seed) {
        for (ParameterLayout.Slot s : layout.slots()) {
            float[] a = new float[Math.toIntExact(s.size())];
            long stream = seed * 0x9E3779B97F4A7C15L + s.key().hashCode();
            s.spec().init().fill(s.spec().shape(), a, new SplittableRandom(stream));
            writeSlot(buffer(s), s, a);
        }
        return this;
    }

    /** The backend's storage orders, by slot key ({@code node.param}); parameters not named are in logical order. */
    public Map<String, Order> orders() {
        return orders;
    }

    /** Parameter {@code param} of {@code node}, in logical (row-major) order. */
    public float[] read(String node, String param) {
        ParameterLayout.Slot s = layout.slot(node, param);
        return readSlot(buffer(s), s);
    }

    public void write(String node, String param, float[] src) {
        ParameterLayout.Slot s = layout.slot(node, param);
        if (src.length != s.size()) {
            throw new IllegalArgumentException("parameter " + s.key() + " of shape " + s.spec().shape() + " takes "
                    + s.size() + " values, got " + src.length);
        }
        writeSlot(buffer(s), s, src);
    }

    public float[] readGradient(String node, String param) {
        ParameterLayout.Slot s = layout.slot(node, param);
        if (!s.spec().trainable()) {
            throw new IllegalArgumentException(s.key() + " is state and has no gradient");
        }
        return readSlot(gradients, s);
    }

    /** All trainable values, flat, each parameter in logical order, without padding (the layout of checkpoints). */
    public float[] logicalValues() {
        return toLogical(values.toArray());
    }

    /** All gradients, flat, each parameter in logical order, without padding. */
    public float[] logicalGradients() {
        return toLogical(gradients.toArray());
    }

    /** Writes all trainable values from a flat array in logical order (as {@link #logicalValues()} gives). */
    public void writeLogicalValues(float[] logical) {
        values.write(toStored(logical));
    }

    /** The state (running statistics), flat, without padding (the layout of checkpoints). */
    public float[] logicalState() {
        float[] stored = state.toArray();
        if (!layout.padded()) {
            return stored;
        }
        float[] logical = new float[logicalStateLength()];
        for (ParameterLayout.Slot s : layout.slots()) {
            if (!s.spec().trainable()) {
                System.arraycopy(stored, (int) s.offset(), logical, (int) s.logicalOffset(), (int) s.size());
            }
        }
        return logical;
    }

    /** Writes the state from a flat array as {@link #logicalState()} gives it. */
    public void writeLogicalState(float[] logical) {
        if (logical.length != logicalStateLength()) {
            throw new IllegalArgumentException("the state takes " + logicalStateLength() + " values, got " + logical.length);
        }
        if (!layout.padded()) {
            state.write(logical);
            return;
        }
        float[] stored = new float[Math.toIntExact(state.size())];
        for (ParameterLayout.Slot s : layout.slots()) {
            if (!s.spec().trainable()) {
                System.arraycopy(logical, (int) s.logicalOffset(), stored, (int) s.offset(), (int) s.size());
            }
        }
        state.write(stored);
    }

    /** Length of {@link #logicalValues()} and of what {@link #toLogical} returns: the values without padding, at least 1. */
    public int logicalValuesLength() {
        return layout.padded() ? (int) Math.max(1, layout.logicalTrainableSize()) : Math.toIntExact(values.size());
    }

    /** Length of {@link #logicalState()}: the state without padding, at least 1. */
    public int logicalStateLength() {
        return layout.padded() ? (int) Math.max(1, layout.logicalStateSize()) : Math.toIntExact(state.size());
    }

    /** Copies values and state from {@code other} (same graph, any backend, any layout and storage order). */
    public void copyFrom(Parameters other) {
        writeLogicalValues(other.logicalValues());
        writeLogicalState(other.logicalState());
    }

    /**
     * A flat array laid out like {@link #values()} (values, gradients, an optimizer's per-value state) in
     * logical order: each ordered parameter's stretch un-permuted, padding left out; a new array.
     */
    public float[] toLogical(float[] stored) {
        checkFlat(stored);
        if (!layout.padded()) {
            float[] logical = stored.clone();
            permutations.forEach((slot, p) -> unpermute(p, stored, (int) slot.offset(), logical, (int) slot.offset()));
            return logical;
        }
        float[] logical = new float[logicalValuesLength()];
        for (ParameterLayout.Slot s : layout.slots()) {
            if (s.spec().trainable()) {
                int[] p = permutations.get(s);
                if (p == null) {
                    System.arraycopy(stored, (int) s.offset(), logical, (int) s.logicalOffset(), (int) s.size());
                } else {
                    unpermute(p, stored, (int) s.offset(), logical, (int) s.logicalOffset());
                }
            }
        }
        return logical;
    }

    /** The inverse of {@link #toLogical}: a flat logical array in this storage's order and layout; a new array. */
    public float[] toStored(float[] logical) {
        if (logical.length != logicalValuesLength()) {
            throw new IllegalArgumentException("the trainable parameters take " + logicalValuesLength() + " values, got "
                    + logical.length);
        }
        if (!layout.padded()) {
            float[] stored = logical.clone();
            permutations.forEach((slot, p) -> permute(p, logical, (int) slot.offset(), stored, (int) slot.offset()));
            return stored;
        }
        float[] stored = new float[Math.toIntExact(values.size())]; // padding stays zero
        for (ParameterLayout.Slot s : layout.slots()) {
            if (s.spec().trainable()) {
                int[] p = permutations.get(s);
                if (p == null) {
                    System.arraycopy(logical, (int) s.logicalOffset(), stored, (int) s.offset(), (int) s.size());
                } else {
                    permute(p, logical, (int) s.logicalOffset(), stored, (int) s.offset());
                }
            }
        }
        return stored;
    }

    /** {@code logical[lo + p[i]] = stored[so + i]} over one parameter's stretch. */
    private static void unpermute(int[] p, float[] stored, int so, float[] logical, int lo) {
        for (int i = 0; i < p.length; i++) {
            logical[lo + p[i]] = stored[so + i];
        }
    }

    /** {@code stored[so + i] = logical[lo + p[i]]}: the inverse of {@link #unpermute}. */
    private static void permute(int[] p, float[] logical, int lo, float[] stored, int so) {
        for (int i = 0; i < p.length; i++) {
            stored[so + i] = logical[lo + p[i]];
        }
    }

    private void checkFlat(float[] a) {
        if (a.length != values.size()) {
            throw new IllegalArgumentException("the trainable parameters take " + values.size() + " values, got " + a.length);
        }
    }

    private float[] readSlot(Tensor t, ParameterLayout.Slot s) {
        float[] a = new float[Math.toIntExact(s.size())];
        t.read(s.offset(), a, 0, a.length);
        int[] p = permutations.get(s);
        if (p == null) {
            return a;
        }
        float[] logical = new float[a.length];
        unpermute(p, a, 0, logical, 0);
        return logical;
    }

    private void writeSlot(Tensor t, ParameterLayout.Slot s, float[] logical) {
        int[] p = permutations.get(s);
        float[] a = logical;
        if (p != null) {
            a = new float[logical.length];
            permute(p, logical, 0, a, 0);
        }
        t.write(s.offset(), a, 0, a.length);
    }

    private Tensor buffer(ParameterLayout.Slot s) {
        return s.spec().trainable() ? values : state;
    }

    @Override
    public void close() {
        values.close();
        gradients.close();
        state.close();
    }
}
