package io.batchwise.backend;

import io.batchwise.Graph;
import io.batchwise.plan.MemoryPlan;

/**
 * A graph compiled for one micro-batch: primitives and descriptors, no tensor memory yet.
 * Closing it frees its primitives; executors bound to it must be closed first.
 */
public interface Plan extends AutoCloseable {

    Graph graph();

    int microBatch();

    PlanOptions options();

    /** Every buffer a step needs, in bytes, with its lifetime over forward and backward. */
    MemoryPlan memory();

    /**
     * Allocates one arena of {@code memory().arena().bytes()} for the step's tensors (activations,
     * their gradients, workspaces, scratchpad) and binds them to {@code parameters}, which several
     * executors may share (e.g. one per micro-batch size). The executor owns the arena.
     */
    default Executor bind(Parameters parameters) {
        return bind(parameters, null);
    }

    /**
     * Binds to {@code parameters} with the step's tensors carved from {@code arena}, a tensor of this
     * backend of at least {@code memory().arena().bytes()} bytes that the caller owns and closes after
     * the executor. Executors that never run interleaved (a micro-batch and the short last one, say)
     * may share one arena: what one step leaves in it, another step may overwrite.
     */
    Executor bind(Parameters parameters, Tensor arena);

    @Override
    void close();
}
