package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.layer.ELU;
import io.batchwise.layer.GELU;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Tanh;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * Element-wise activations over {@code (b, ...)}: ReLU, sigmoid, tanh and ELU through cuDNN, LeakyReLU
 * and exact GELU as kernels (cuDNN has neither). Backward reads the source and the output.
 */
final class CudnnEltwise extends CudnnLayer {
    private CudnnOp.Act act;
    private float coef;
    private CudnnBuffer x;
    private CudnnBuffer y;

    CudnnEltwise(Node node) {
        super(node);
    }

    @Override
    void forward(CudnnPlanner p) {
        var l = node.layer();
        if (l instanceof ReLU) {
            act = CudnnOp.Act.RELU;
        } else if (l instanceof Sigmoid) {
            act = CudnnOp.Act.SIGMOID;
        } else if (l instanceof Tanh) {
            act = CudnnOp.Act.TANH;
        } else if (l instanceof ELU e) {
            act = CudnnOp.Act.ELU;
            coef = e.alpha();
        } else if (l instanceof LeakyReLU r) {
            act = CudnnOp.Act.LEAKY_RELU;
            coef = r.slope();
        } else if (l instanceof GELU) {
            act = CudnnOp.Act.GELU;
        } else {
            throw new IllegalArgumentException(node.describe() + " is not an element-wise activation");
        }
        x = p.output(input());
        y = p.activation(node, Kind.ACTIVATION);
        p.forward(new CudnnOp.ActForward(label("forward"), act, coef, p.batch, perSample(), x, y));
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        if (p.requiresGrad(input())) {
            p.backward(new CudnnOp.ActBackward(label("backward"), act, coef, p.batch, perSample(), x, y, p.diff(node.name()),
                    p.diff(input()), p.contribution(input())));
        }
    }
}
