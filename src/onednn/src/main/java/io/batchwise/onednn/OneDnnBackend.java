package io.batchwise.onednn;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import java.util.Objects;
import java.util.Set;

/**
 * The oneDNN CPU backend: every layer runs as oneDNN primitives through the JavaCPP preset.
 *
 * <p>Life cycle: instances are cheap and stateless; they share one process-wide engine, stream and
 * {@link MemoryTracker}, created on first use. {@link #availability()} probes the native library
 * once and says which artifact is missing when it does not load. {@link #plan} builds every
 * primitive descriptor and primitive of a graph once; {@link Plan#bind} allocates the step's
 * memory; closing executors, plans, parameters and tensors frees their native objects at once.
 */
public final class OneDnnBackend implements Backend {
    /** oneDNN's effective CPU ISA name; injected in tests to stand for a CPU without native bf16. */
    private final java.util.function.Supplier<String> isa;

    public OneDnnBackend() {
        this(OneDnnBf16::effectiveIsa);
    }

    /** A backend whose bf16 check reads the ISA from {@code isa} (tests: a CPU without AVX512_BF16 or AMX). */
    OneDnnBackend(java.util.function.Supplier<String> isa) {
        this.isa = Objects.requireNonNull(isa, "isa");
    }

    @Override
    public String name() {
        return "onednn";
    }

    @Override
    public Availability availability() {
        return OneDnnAvailability.get();
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Set<DataType> dataTypes() {
        return Set.of(DataType.FLOAT32);
    }

    @Override
    public MemoryTracker memory() {
        return OneDnnRuntime.TRACKER;
    }

    @Override
    public Tensor allocate(Shape shape, DataType type) {
        Objects.requireNonNull(shape, "shape");
        checkType(type);
        OneDnnRuntime rt = OneDnnRuntime.get();
        return OneDnnTensor.allocate(rt, shape, OneDnnMd.plain(OneDnnMd.dims(shape)), true, null);
    }

    /** Convolution and inner-product weights in the layouts their kernels read ({@link OneDnnParameterOrders}). */
    @Override
    public java.util.Map<String, io.batchwise.backend.Parameters.Order> parameterOrders(Graph graph) {
        Objects.requireNonNull(graph, "graph");
        return OneDnnParameterOrders.orders(graph);
    }

    @Override
    public Plan plan(Graph graph, int microBatch, PlanOptions options) {
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(options, "options");
        checkType(options.dataType());
        if (options.precision() == io.batchwise.backend.Precision.BF16_MIXED) {
            String why = OneDnnBf16.refusal(isa.get());
            if (why != null) {
                throw new UnsupportedOperationException(why);
            }
        }
        return OneDnnPlan.compile(OneDnnRuntime.get(), graph, microBatch, options);
    }

    private static void checkType(DataType type) {
        if (type != DataType.FLOAT32) {
            throw new IllegalArgumentException("the onednn backend computes in FLOAT32 only, not " + type);
        }
    }

    @Override
    public io.batchwise.backend.VectorOps vectors() {
        return OneDnnRuntime.get().vectors;
    }

    @Override
    public String toString() {
        return "onednn";
    }
}
