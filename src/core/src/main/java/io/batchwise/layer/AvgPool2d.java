package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.List;

/**
 * Average pooling over {@code (C, H, W)}. With {@code countIncludePad} the divisor is always
 * {@code kernelH * kernelW} (PyTorch's default); without, only the in-bounds positions count.
 */
public record AvgPool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW,
                        boolean countIncludePad) implements Layer {
    public AvgPool2d {
        Pooling.check("AvgPool2d", kernelH, kernelW, strideH, strideW, padH, padW);
    }

    /** Square window, stride = window, no padding. */
    public static AvgPool2d of(int kernel) {
        return new AvgPool2d(kernel, kernel, kernel, kernel, 0, 0, true);
    }

    public static AvgPool2d of(int kernel, int stride, int pad, boolean countIncludePad) {
        return new AvgPool2d(kernel, kernel, stride, stride, pad, pad, countIncludePad);
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        return Pooling.outputShape(Layer.single(inputs), kernelH, kernelW, strideH, strideW, padH, padW);
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
