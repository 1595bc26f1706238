package io.batchwise.reference;

import io.batchwise.DataType;
import io.batchwise.Node;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Pass;
import java.util.List;

/**
 * One node's forward and backward kernels, compiled by {@link RefPlan} for one micro-batch.
 * Holds hyper-parameters, dimensions and parameter offsets only; every buffer comes in through
 * {@link RefNodeTensors}.
 *
 * <p>Conventions every kernel follows: forward <em>assigns</em> {@code dst}; backward <em>adds</em>
 * into its inputs' gradients and its parameter gradients (so that several consumers, and
 * gradient accumulation, sum), and skips an input gradient that is {@code null}. Kernels write
 * raw doubles; the executor rounds to the plan's type once the node is done.
 */
abstract class RefOp {
    final Node node;
    /** The micro-batch: N in the shape comments. */
    final int batch;

    RefOp(Node node, int batch) {
        this.node = node;
        this.batch = batch;
    }

    /**
     * A buffer forward fills and backward reads, allocated in training plans only.
     *
     * @param indices true: an {@code int[]} ({@link RefIndices}); false: a tensor of the plan's type
     */
    record Workspace(String what, int size, boolean indices) {
        long bytes(DataType type) {
            return (long) size * (indices ? RefIndices.BYTES : type.bytes());
        }
    }

    List<Workspace> workspaces() {
        return List.of();
    }

    abstract void forward(RefNodeTensors t, Pass pass);

    /**
     * Adds this node's share of the gradient to its inputs' and parameters' gradients.
     *
     * @param training whether the forward pass being differentiated was a training pass
     */
    abstract void backward(RefNodeTensors t, boolean training);

    /** Element offset of this node's parameter {@code name} in the values (or state) buffer. */
    final int offset(ParameterLayout layout, String name) {
        return Math.toIntExact(layout.slot(node.name(), name).offset());
    }

    /** Elements per sample after the channel axis (1 for a {@code (C)} shape): S in the shape comments. */
    static int spatial(io.batchwise.Shape perSample) {
        return Math.toIntExact(perSample.size() / perSample.dim(0));
    }
}
