package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.layer.Conv2d;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * Convolution through cuDNN: {@code x (b, C, H, W) (x) w (OC, C, KH, KW) -> y (b, OC, OH, OW)}, plus a
 * per-channel bias. The algorithms come from {@link CudnnPlanner#tune} (chosen once per geometry); their
 * workspaces are buffers of the plan, forward's at the forward step and backward's at the backward step.
 * Filters, biases and their gradients are read and written in place: every parameter slot is 256-byte aligned.
 *
 * <p>bf16 plan: x, y and their gradients bf16, the calls read bf16 copies of the filter and bias
 * ({@link CudnnPlanner#kernelCopy}) and compute in float32 (cuDNN's pseudo-bf16 configuration); cuDNN writes the filter
 * and bias gradients in bf16 too, so each goes through a bf16 temporary added into the float32 gradient
 * ({@link CudnnPlanner#gradientTarget}), as PyTorch's autocast does.
 */
final class CudnnConv2d extends CudnnLayer {
    private final Conv2d spec;
    private ConvGeometry g;
    private ConvAlgorithms algorithms;
    private CudnnBuffer x;
    private CudnnBuffer w;

    CudnnConv2d(Node node, Conv2d spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(CudnnPlanner p) {
        Shape in = node.inputShapes().get(0);  // (C, H, W)
        Shape out = node.outputShape();         // (OC, OH, OW)
        g = new ConvGeometry(p.batch, in.dim(0), in.dim(1), in.dim(2), spec.outChannels(), spec.kernelH(), spec.kernelW(),
                spec.padH(), spec.padW(), spec.strideH(), spec.strideW(), spec.dilationH(), spec.dilationW(), out.dim(1),
                out.dim(2), p.act);
        try {
            algorithms = p.tune(g);
        } catch (RuntimeException e) {
            throw new IllegalStateException("node " + node.describe() + ": no cuDNN convolution algorithm for " + g.describe()
                    + ": " + e.getMessage(), e);
        }
        x = p.output(input());
        w = p.kernelCopy(node, "weight");
        CudnnBuffer b = spec.bias() ? p.kernelCopy(node, "bias") : null;
        CudnnBuffer y = p.activation(node, Kind.ACTIVATION);
        CudnnBuffer ws = p.scratch(node, "forward_workspace", algorithms.forwardBytes(), p.forwardStep(node));
        if (b != null) {
            p.forward(new CudnnOp.BiasForward(label("bias"), g.n(), g.k(), g.outH() * g.outW(), b, y, CudnnOp.Beta.ZERO));
        }
        p.forward(new CudnnOp.ConvForward(label("forward"), g, algorithms, x, w, y, b != null ? CudnnOp.Beta.ONE
                : CudnnOp.Beta.ZERO, ws));
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        int step = p.backwardStep(node);
        CudnnBuffer dy = p.diff(node.name());
        CudnnBuffer ws = p.scratch(node, "backward_workspace", algorithms.backwardBytes(), step);
        if (spec.bias()) {
            CudnnBuffer db = p.gradientTarget(node, "bias");
            p.backward(new CudnnOp.BiasBackward(label("backward bias"), g.n(), g.k(), g.outH() * g.outW(), dy, db,
                    p.gradientBeta()));
            p.addGradient(node, "bias", db);
        }
        CudnnBuffer dw = p.gradientTarget(node, "weight");
        p.backward(new CudnnOp.ConvBackwardFilter(label("backward filter"), g, algorithms, x, dy, dw, p.gradientBeta(), ws));
        p.addGradient(node, "weight", dw);
        if (p.requiresGrad(input())) {
            p.backward(new CudnnOp.ConvBackwardData(label("backward data"), g, algorithms, w, dy, p.diff(input()),
                    p.contribution(input()), ws));
        }
    }
}
