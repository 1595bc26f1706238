package io.batchwise.onednn;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.memory;

/** A graph input: a plain {@code (b, ...)} buffer the caller writes; its gradient, when asked for, is plain too. */
final class OneDnnInput extends OneDnnLayer {
    OneDnnInput(Node node) {
        super(node);
    }

    @Override
    void forward(OneDnnPlanner p) {
        long[] dims = OneDnnMd.dims(node.outputShape().withBatch(p.batch));
        p.setOutput(node, p.activation(node, OneDnnMd.plain(dims), Kind.INPUT));
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        return p.plain(OneDnnMd.dims(node.outputShape().withBatch(p.batch)));
    }

    @Override
    void backward(OneDnnPlanner p) {
        // Nothing to compute: consumers' contributions land in the gradient buffer.
    }
}
