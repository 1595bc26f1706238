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
     * Allocates the step's tensors (activations, their gradients, workspaces, scratchpad) and binds
     * them to {@code parameters}, which several executors may share (e.g. one per micro-batch size).
     */
    Executor bind(Parameters parameters);

    @Override
    void close();
}
