package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/**
 * Max pooling over {@code (C, H, W)}; padded positions never win.
 * Output {@code OH = floor((H + 2 padH - kernelH) / strideH) + 1}.
 */
public record MaxPool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) implements Layer {
    public MaxPool2d {
        Pooling.check("MaxPool2d", kernelH, kernelW, strideH, strideW, padH, padW);
    }

    /** Square window, stride = window, no padding. */
    public static MaxPool2d of(int kernel) {
        return new MaxPool2d(kernel, kernel, kernel, kernel, 0, 0);
    }

    public static MaxPool2d of(int kernel, int stride, int pad) {
        return new MaxPool2d(kernel, kernel, stride, stride, pad, pad);
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Pooling.outputShape(Layer.single(inputs), kernelH, kernelW, strideH, strideW, padH, padW);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
