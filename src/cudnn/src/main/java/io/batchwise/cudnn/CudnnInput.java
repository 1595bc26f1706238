package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;

/** A graph input: a {@code (b, ...)} buffer the caller writes; consumers add to its gradient when one is asked for. */
final class CudnnInput extends CudnnLayer {
    CudnnInput(Node node) {
        super(node);
    }

    @Override
    void forward(CudnnPlanner p) {
        p.setOutput(node, p.activation(node, Kind.INPUT));
    }

    @Override
    void backward(CudnnPlanner p) {
        // Nothing to compute: consumers' contributions land in the gradient buffer.
    }
}
