package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.plan.MemoryPlan.Kind;

/** Softmax over the channel axis at every position, through cuDNN (accurate, channel mode): {@code (b, C, H*W)}. */
final class CudnnSoftmax extends CudnnLayer {
    private int c;
    private int hw;
    private CudnnBuffer y;

    CudnnSoftmax(Node node) {
        super(node);
    }

    @Override
    void forward(CudnnPlanner p) {
        Shape s = node.outputShape();
        c = s.dim(0);
        hw = s.sizeAsInt() / c;
        y = p.activation(node, Kind.ACTIVATION);
        p.forward(new CudnnOp.SoftmaxForward(label("forward"), p.batch, c, hw, p.output(input()), y));
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        if (p.requiresGrad(input())) {
            p.backward(new CudnnOp.SoftmaxBackward(label("backward"), p.batch, c, hw, y, p.diff(node.name()), p.diff(input()),
                    p.contribution(input())));
        }
    }
}
