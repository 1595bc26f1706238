package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * Concatenation along the channel axis: each input {@code (b, Ci, H, W)} (or {@code (b, Ci)}) is copied
 * into its channel slice of {@code (b, C, H, W)}; backward copies (or adds) each slice of the gradient back.
 */
final class CudnnConcat extends CudnnLayer {
    CudnnConcat(Node node) {
        super(node);
    }

    /** Elements per channel: H * W, or 1 for vectors. */
    private long spatial() {
        Shape s = node.outputShape();
        return s.size() / s.dim(0);
    }

    @Override
    void forward(CudnnPlanner p) {
        CudnnBuffer y = p.activation(node, Kind.ACTIVATION);
        long hw = spatial();
        long stride = node.outputShape().size();
        long channel = 0;
        for (int i = 0; i < node.inputs().size(); i++) {
            CudnnBuffer x = p.output(node.inputs().get(i));
            long block = node.inputShapes().get(i).size();
            p.forward(new CudnnOp.SliceCopy(label("forward (input " + i + ")"), p.batch, block, x, block, 0, y, stride,
                    channel * hw, CudnnOp.Beta.ZERO));
            channel += node.inputShapes().get(i).dim(0);
        }
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        CudnnBuffer dy = p.diff(node.name());
        long hw = spatial();
        long stride = node.outputShape().size();
        long channel = 0;
        for (int i = 0; i < node.inputs().size(); i++) {
            String in = node.inputs().get(i);
            long block = node.inputShapes().get(i).size();
            if (p.requiresGrad(in)) {
                p.backward(new CudnnOp.SliceCopy(label("backward (input " + i + ")"), p.batch, block, dy, stride, channel * hw,
                        p.diff(in), block, 0, p.contribution(in)));
            }
            channel += node.inputShapes().get(i).dim(0);
        }
    }
}
