package io.batchwise.backend;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import java.util.SplittableRandom;

/**
 * A graph's parameters in a backend's memory: flat {@link #values()}, {@link #gradients()} (same
 * layout) and {@link #state()} (running statistics), each in its parameters' logical layout.
 * Executors bind views into these buffers. Owns the three tensors; {@code close()} frees them.
 */
public final class Parameters implements AutoCloseable {
    private final Graph graph;
    private final ParameterLayout layout;
    private final Backend backend;
    private final Tensor values;
    private final Tensor gradients;
    private final Tensor state;

    private Parameters(Graph graph, Backend backend, Tensor values, Tensor gradients, Tensor state) {
        this.graph = graph;
        this.layout = new ParameterLayout(graph);
        this.backend = backend;
        this.values = values;
        this.gradients = gradients;
        this.state = state;
    }

    /** Allocates zero-filled buffers for {@code graph} with {@code backend}. */
    public static Parameters allocate(Backend backend, Graph graph, DataType type) {
        ParameterLayout l = new ParameterLayout(graph);
        // A graph without parameters still gets one-element buffers: tensors are never empty.
        Tensor v = backend.allocate(Shape.of((int) Math.max(1, l.trainableSize())), type);
        Tensor g = backend.allocate(Shape.of((int) Math.max(1, l.trainableSize())), type);
        Tensor s = backend.allocate(Shape.of((int) Math.max(1, l.stateSize())), type);
        return new Parameters(graph, backend, v, g, s);
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
            buffer(s).write(s.offset(), a, 0, a.length);
        }
        return this;
    }

    public float[] read(String node, String param) {
        ParameterLayout.Slot s = layout.slot(node, param);
        float[] a = new float[Math.toIntExact(s.size())];
        buffer(s).read(s.offset(), a, 0, a.length);
        return a;
    }

    public void write(String node, String param, float[] src) {
        ParameterLayout.Slot s = layout.slot(node, param);
        if (src.length != s.size()) {
            throw new IllegalArgumentException("parameter " + s.key() + " of shape " + s.spec().shape() + " takes "
                    + s.size() + " values, got " + src.length);
        }
        buffer(s).write(s.offset(), src, 0, src.length);
    }

    public float[] readGradient(String node, String param) {
        ParameterLayout.Slot s = layout.slot(node, param);
        if (!s.spec().trainable()) {
            throw new IllegalArgumentException(s.key() + " is state and has no gradient");
        }
        float[] a = new float[Math.toIntExact(s.size())];
        gradients.read(s.offset(), a, 0, a.length);
        return a;
    }

    /** Copies values and state from {@code other} (same graph, any backend). */
    public void copyFrom(Parameters other) {
        values.write(other.values.toArray());
        state.write(other.state.toArray());
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
