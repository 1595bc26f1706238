package io.batchwise.onednn;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.memory;

/**
 * A graph input: a plain f32 {@code (b, ...)} buffer the caller writes; its gradient, when asked for, is plain
 * too. Under bf16 mixed precision the node's output is a plain bf16 copy that the first forward op fills with
 * one reorder (the caller's f32 buffer stays, planned as the input, for a consumer that wants f32: a
 * one-channel convolution's weight gradient), and the gradient is bf16 (read back through an f32 stage).
 */
final class OneDnnInput extends OneDnnLayer {
    OneDnnInput(Node node) {
        super(node);
    }

    @Override
    void forward(OneDnnPlanner p) {
        long[] dims = OneDnnMd.dims(node.outputShape().withBatch(p.batch));
        if (!p.bf16) {
            p.setOutput(node, p.activation(node, OneDnnMd.plain(dims), Kind.INPUT));
            return;
        }
        // {b, ...} f32 (caller) -> {b, ...} bf16 (what every consumer reads)
        OneDnnBuffer user = p.workspace(node, "src_f32", p.plainF32(dims), Kind.INPUT);
        OneDnnBuffer copy = p.activation(node, p.plain(dims), Kind.ACTIVATION);
        p.forward(p.reorder(label("to bf16"), user, copy, false));
        p.inputBuffers.put(node.name(), user);
        p.setOutput(node, copy);
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
