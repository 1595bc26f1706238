package io.batchwise.layer;

import io.batchwise.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * 2-D convolution (cross-correlation, as in every framework) over {@code (C, H, W)}.
 * Weight {@code (outChannels, C, kernelH, kernelW)}, bias {@code (outChannels)}.
 * Output {@code (outChannels, OH, OW)} with
 * {@code OH = floor((H + 2 padH - dilationH (kernelH - 1) - 1) / strideH) + 1}.
 * Dilation 1 means none (PyTorch's convention).
 */
public record Conv2d(int outChannels, int kernelH, int kernelW, int strideH, int strideW,
                     int padH, int padW, int dilationH, int dilationW,
                     boolean bias, Init weightInit, Init biasInit) implements Layer {
    public Conv2d {
        if (outChannels <= 0 || kernelH <= 0 || kernelW <= 0 || strideH <= 0 || strideW <= 0
                || dilationH <= 0 || dilationW <= 0 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("Conv2d needs positive channels, kernel, stride and dilation and"
                    + " non-negative padding, got " + outChannels + " channels, kernel " + kernelH + "x" + kernelW
                    + ", stride " + strideH + "x" + strideW + ", padding " + padH + "x" + padW
                    + ", dilation " + dilationH + "x" + dilationW);
        }
        Objects.requireNonNull(weightInit, "weightInit");
        Objects.requireNonNull(biasInit, "biasInit");
    }

    /** A square kernel, stride 1, no padding, no dilation, He-uniform weights, zero bias. */
    public static Conv2d of(int outChannels, int kernel) {
        return new Conv2d(outChannels, kernel, kernel, 1, 1, 0, 0, 1, 1, true, Init.heUniform(), Init.zeros());
    }

    public Conv2d stride(int s) {
        return stride(s, s);
    }

    public Conv2d stride(int sh, int sw) {
        return new Conv2d(outChannels, kernelH, kernelW, sh, sw, padH, padW, dilationH, dilationW, bias, weightInit, biasInit);
    }

    public Conv2d padding(int p) {
        return padding(p, p);
    }

    public Conv2d padding(int ph, int pw) {
        return new Conv2d(outChannels, kernelH, kernelW, strideH, strideW, ph, pw, dilationH, dilationW, bias, weightInit, biasInit);
    }

    public Conv2d dilation(int d) {
        return dilation(d, d);
    }

    public Conv2d dilation(int dh, int dw) {
        return new Conv2d(outChannels, kernelH, kernelW, strideH, strideW, padH, padW, dh, dw, bias, weightInit, biasInit);
    }

    public Conv2d withBias(boolean b) {
        return new Conv2d(outChannels, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, b, weightInit, biasInit);
    }

    public Conv2d withInit(Init weights, Init biases) {
        return new Conv2d(outChannels, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, bias, weights, biases);
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        Shape s = Layer.single(inputs);
        Layer.requireRank(s, 3, "(C, H, W)");
        int oh = outSize(s.dim(1), kernelH, strideH, padH, dilationH);
        int ow = outSize(s.dim(2), kernelW, strideW, padW, dilationW);
        if (oh <= 0 || ow <= 0) {
            throw new IllegalArgumentException("kernel " + kernelH + "x" + kernelW + " (dilation " + dilationH + "x"
                    + dilationW + ", padding " + padH + "x" + padW + ") does not fit input shape " + s);
        }
        return Shape.of(outChannels, oh, ow);
    }

    @Override
    public List<ParamSpec> params(List<Shape> inputs) {
        int c = inputs.get(0).dim(0);
        List<ParamSpec> p = new ArrayList<>();
        p.add(new ParamSpec("weight", Shape.of(outChannels, c, kernelH, kernelW), weightInit, true));
        if (bias) {
            p.add(new ParamSpec("bias", Shape.of(outChannels), biasInit, true));
        }
        return p;
    }

    static int outSize(int in, int k, int stride, int pad, int dilation) {
        int span = dilation * (k - 1) + 1;
        int padded = in + 2 * pad;
        return padded < span ? 0 : (padded - span) / stride + 1;
    }

    @Override public <R> R accept(Visitor<R> visitor) { return visitor.visit(this); }
}
