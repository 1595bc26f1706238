package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;

/** Element-wise sum of two or more inputs ({@code y = x0; y += xi}); the gradient passes unchanged to every input. */
final class CudnnAdd extends CudnnLayer {
    CudnnAdd(Node node) {
        super(node);
    }

    @Override
    void forward(CudnnPlanner p) {
        CudnnBuffer y = p.activation(node, Kind.ACTIVATION);
        for (int i = 0; i < node.inputs().size(); i++) {
            CudnnBuffer x = p.output(node.inputs().get(i));
            p.forward(new CudnnOp.Axpby(label("forward (input " + i + ")"), y.elements(), 1f, x,
                    i == 0 ? CudnnOp.Beta.ZERO : CudnnOp.Beta.ONE, y));
        }
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        CudnnBuffer dy = p.diff(node.name());
        for (int i = 0; i < node.inputs().size(); i++) {
            String in = node.inputs().get(i);
            if (p.requiresGrad(in)) {
                p.backward(new CudnnOp.Axpby(label("backward (input " + i + ")"), dy.elements(), 1f, dy, p.contribution(in),
                        p.diff(in)));
            }
        }
    }
}
