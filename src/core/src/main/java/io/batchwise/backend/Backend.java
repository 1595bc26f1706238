package io.batchwise.backend;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import java.util.Set;

/**
 * A compute backend, found with {@link java.util.ServiceLoader} (see {@link Backends}).
 *
 * <p>Life cycle: a backend is a process-wide singleton that owns its engine and stream
 * (created lazily, on first use). {@link #plan} compiles a graph for one micro-batch into a
 * {@link Plan} whose every byte is known before anything is allocated; {@link Plan#bind}
 * allocates the step's tensors and returns an {@link Executor}. Everything a backend allocates
 * is counted by its {@link #memory()} tracker and freed by {@code close()}.
 */
public interface Backend {

    /** Short name, e.g. {@code reference}, {@code onednn}, {@code cudnn}. */
    String name();

    /** Whether the backend can run here, and if not, why (platform, missing artifact, no device). */
    Availability availability();

    /** Order of preference for {@code auto}; larger wins among available backends. */
    int priority();

    /** Element types this backend computes in. */
    Set<DataType> dataTypes();

    /** Live and peak bytes of everything this backend allocated. */
    MemoryTracker memory();

    /** A zero-filled tensor of {@code shape} in this backend's memory; the caller closes it. */
    Tensor allocate(Shape shape, DataType type);

    /**
     * Compiles {@code graph} for micro-batch {@code microBatch}. Builds descriptors and primitives
     * and sizes every buffer (see {@link Plan#memory()}); allocates no tensor memory.
     */
    Plan plan(Graph graph, int microBatch, PlanOptions options);

    /**
     * Parameters this backend keeps in a kernel's element order rather than the logical one, by slot key
     * ({@code node.param}), so that no step reorders them; every plan of {@code graph} expects them so.
     * None by default.
     */
    default java.util.Map<String, Parameters.Order> parameterOrders(Graph graph) {
        return java.util.Map.of();
    }

    /**
     * Where each parameter of {@code graph} sits in the flat buffers this backend's {@link Parameters} and plans use:
     * packed by default; a device backend asks for an alignment (every slot at a multiple of so many elements).
     */
    default ParameterLayout parameterLayout(Graph graph) {
        return new ParameterLayout(graph);
    }

    /** Flat parameter, gradient and state storage for {@code graph}, zero-filled; the caller closes it. */
    default Parameters createParameters(Graph graph, DataType type) {
        return Parameters.allocate(this, graph, type);
    }

    /**
     * What {@code auto} budgets may use: the host's memory less the Java heap and {@code hostMarginBytes}
     * for CPU backends (the default); device backends override with their free device memory.
     */
    default io.batchwise.plan.Budget automaticBudget(long hostMarginBytes) {
        return io.batchwise.plan.Budget.host(hostMarginBytes);
    }

    /** Arithmetic over this backend's tensors for optimizer updates; the portable one unless overridden. */
    default VectorOps vectors() {
        return VectorOps.host();
    }
}
