package io.batchwise.cudnn;

import io.batchwise.DataType;
import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * A graph input: a {@code (b, ...)} buffer the caller writes; consumers add to its gradient when one is asked for. In a
 * bf16 plan the caller writes a float32 buffer (planned as the input) that the first forward op converts into the
 * node's bf16 output, and the gradient is bf16.
 */
final class CudnnInput extends CudnnLayer {
    CudnnInput(Node node) {
        super(node);
    }

    @Override
    void forward(CudnnPlanner p) {
        if (!p.bf16) {
            p.setOutput(node, p.activation(node, Kind.INPUT));
            return;
        }
        CudnnBuffer user = p.workspace(node, "src_f32", node.outputShape().withBatch(p.batch), DataType.FLOAT32, Kind.INPUT);
        CudnnBuffer copy = p.activation(node, Kind.ACTIVATION);
        p.forward(new CudnnOp.Convert(label("to bf16"), copy.elements(), user, copy, CudnnOp.Beta.ZERO));
        p.callerInputs.put(node.name(), user);
        p.setOutput(node, copy);
    }

    @Override
    void backward(CudnnPlanner p) {
        // Nothing to compute: consumers' contributions land in the gradient buffer.
    }
}
