package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.layer.Dropout;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * Inverted dropout. A training pass fills a mask {@code (b, ...)} on the device (dropout_mask: element e
 * of global sample {@code pass.firstSample() + n} is {@code 1 / (1 - rate)} when
 * {@link io.batchwise.layer.DropoutMask#keep} keeps it, else 0) and multiplies; backward multiplies the
 * gradient by the same mask. An inference pass copies; an inference-only plan shares the source's bytes.
 */
final class CudnnDropout extends CudnnLayer {
    private final Dropout spec;
    private CudnnBuffer mask;

    CudnnDropout(Node node, Dropout spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(CudnnPlanner p) {
        CudnnBuffer x = p.output(input());
        if (!p.training) {
            p.setOutput(node, p.alias(node.name() + ".dst", x, x.shape));
            return;
        }
        mask = p.workspace(node, "mask", x.shape, p.act, Kind.WORKSPACE); // the data's type: vec_mul reads one type
        CudnnBuffer y = p.activation(node, Kind.ACTIVATION);
        p.forwardTrainingOnly(new CudnnOp.DropoutMask(label("mask"), node.name(), spec.rate(), p.batch, perSample(), mask));
        p.forwardTrainingOnly(new CudnnOp.Mul(label("forward"), y.elements(), x, mask, CudnnOp.Beta.ZERO, y));
        p.forwardInferenceOnly(new CudnnOp.Axpby(label("identity"), y.elements(), 1f, x, CudnnOp.Beta.ZERO, y));
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        if (p.requiresGrad(input())) {
            CudnnBuffer dy = p.diff(node.name());
            p.backward(new CudnnOp.Mul(label("backward"), dy.elements(), dy, mask, p.contribution(input()), p.diff(input())));
        }
    }
}
