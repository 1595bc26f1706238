package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * Max, average and global average pooling through cuDNN: {@code x (b, C, H, W) -> y (b, C, OH, OW)}
 * (global: a window of the whole plane, {@code y (b, C, 1, 1)}, the bytes of {@code (b, C)}). cuDNN's
 * max pooling never lets a padded position win, and its backward finds the maximum again from x and y.
 */
final class CudnnPooling extends CudnnLayer {
    private PoolGeometry g;
    private CudnnBuffer x;
    private CudnnBuffer y;

    CudnnPooling(Node node) {
        super(node);
    }

    @Override
    void forward(CudnnPlanner p) {
        Shape in = node.inputShapes().get(0);
        int c = in.dim(0);
        int h = in.dim(1);
        int w = in.dim(2);
        var l = node.layer();
        if (l instanceof MaxPool2d m) {
            g = new PoolGeometry(PoolGeometry.Mode.MAX, p.batch, c, h, w, m.kernelH(), m.kernelW(), m.padH(), m.padW(),
                    m.strideH(), m.strideW(), node.outputShape().dim(1), node.outputShape().dim(2));
        } else if (l instanceof AvgPool2d a) {
            g = new PoolGeometry(a.countIncludePad() ? PoolGeometry.Mode.AVERAGE_INCLUDE_PADDING
                    : PoolGeometry.Mode.AVERAGE_EXCLUDE_PADDING, p.batch, c, h, w, a.kernelH(), a.kernelW(), a.padH(), a.padW(),
                    a.strideH(), a.strideW(), node.outputShape().dim(1), node.outputShape().dim(2));
        } else if (l instanceof GlobalAvgPool2d) {
            g = new PoolGeometry(PoolGeometry.Mode.AVERAGE_INCLUDE_PADDING, p.batch, c, h, w, h, w, 0, 0, h, w, 1, 1);
        } else {
            throw new IllegalArgumentException(node.describe() + " is not a pooling layer");
        }
        x = p.output(input());
        y = p.activation(node, Kind.ACTIVATION);
        p.forward(new CudnnOp.PoolForward(label("forward"), g, x, y));
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        if (p.requiresGrad(input())) {
            p.backward(new CudnnOp.PoolBackward(label("backward"), g, x, y, p.diff(node.name()), p.diff(input()),
                    p.contribution(input())));
        }
    }
}
