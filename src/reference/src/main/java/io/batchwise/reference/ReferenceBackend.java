package io.batchwise.reference;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * The reference backend: every layer as plain Java loops over {@code double[]} with float64
 * accumulation, written to be read and trusted. It is the oracle the native backends are tested
 * against (run it in FLOAT64), and it trains small models in either type.
 *
 * <p>A FLOAT32 plan rounds every stored value (activations, gradients, parameters, state) to
 * float once the node that writes it is done; a FLOAT64 plan keeps doubles. Tensors are host
 * memory ({@link io.batchwise.backend.HostTensor}).
 *
 * <p>Life cycle: stateless apart from its {@link #memory()} tracker; create as many as you like.
 * A plan allocates nothing; {@link Plan#bind} allocates every buffer of a step (each kept for the
 * executor's life, so the memory plan lists them live over the whole step) and the executor's
 * {@code close()} frees them.
 */
public final class ReferenceBackend implements Backend {
    private final MemoryTracker memory = new MemoryTracker();

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Availability availability() {
        return Availability.yes("plain Java loops, float64 accumulation");
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Set<DataType> dataTypes() {
        return EnumSet.of(DataType.FLOAT32, DataType.FLOAT64);
    }

    @Override
    public MemoryTracker memory() {
        return memory;
    }

    @Override
    public Tensor allocate(Shape shape, DataType type) {
        Objects.requireNonNull(shape, "shape");
        checkType(type);
        return new RefTensor(shape, type, memory, null);
    }

    @Override
    public Plan plan(Graph graph, int microBatch, PlanOptions options) {
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(options, "options");
        if (microBatch < 1) {
            throw new IllegalArgumentException("the micro-batch must be at least 1, got " + microBatch);
        }
        checkType(options.dataType());
        if (options.precision() != io.batchwise.backend.Precision.FLOAT32) {
            // Decided: the oracle refuses rather than emulates bf16 rounding. It is what bf16 results are compared
            // against (in FLOAT64), and an emulation in plain Java would be a second, untested bf16 implementation.
            throw new IllegalArgumentException("the reference backend computes in float32/float64 only and refuses "
                    + options.precision() + " (" + options.precision().label() + "): it is the oracle bf16 results are"
                    + " compared against; use the onednn backend for bf16 mixed precision");
        }
        return new RefPlan(this, graph, microBatch, options);
    }

    private void checkType(DataType type) {
        if (!dataTypes().contains(Objects.requireNonNull(type, "type"))) {
            throw new IllegalArgumentException("the reference backend computes in " + dataTypes() + ", not " + type);
        }
    }

    @Override
    public String toString() {
        return "reference backend";
    }
}
