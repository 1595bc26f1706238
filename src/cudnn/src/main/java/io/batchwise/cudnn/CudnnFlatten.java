package io.batchwise.cudnn;

import io.batchwise.Node;

/**
 * {@code (b, C, H, W) -> (b, C*H*W)}: the same bytes under a new shape. Its input's gradient is its own
 * gradient's bytes when the Flatten is the input's only consumer, and a copy (or a sum) otherwise.
 */
final class CudnnFlatten extends CudnnLayer {
    CudnnFlatten(Node node) {
        super(node);
    }

    @Override
    void forward(CudnnPlanner p) {
        p.setOutput(node, p.alias(node.name() + ".dst", p.output(input()), node.outputShape().withBatch(p.batch)));
    }

    @Override
    void backward(CudnnPlanner p) {
        if (!p.requiresGrad(input()) || p.sharesGradient(input(), node.name())) {
            return;
        }
        CudnnBuffer dy = p.diff(node.name());
        p.backward(new CudnnOp.Axpby(label("backward"), dy.elements(), 1f, dy, p.contribution(input()), p.diff(input())));
    }
}
