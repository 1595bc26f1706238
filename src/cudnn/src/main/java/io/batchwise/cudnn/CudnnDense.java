package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.layer.Dense;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * Fully connected layer through cuBLAS: {@code y (b, units) = x (b, in) . W^T + bias}, with W
 * {@code (units, in)} row-major and any input read flat. cuBLAS is column-major, where a row-major
 * {@code (r, c)} matrix is its transpose {@code (c, r)} with leading dimension c, so:
 * <pre>
 *   forward   y^T (units, b)  = W (units, in) . x^T (in, b)        gemm(T, N, units, b, in)
 *   weights   dW^T (in, units) = x^T (in, b) . dy (b, units)       gemm(N, T, in, units, b)
 *   data      dx^T (in, b)     = W^T (in, units) . dy^T (units, b) gemm(N, N, in, b, units)
 * </pre>
 * The bias is written first, broadcast over {@code (b, units, 1)} (cudnnAddTensor), and the forward product added onto it; its gradient a
 * channel sum (cudnnConvolutionBackwardBias), as for convolutions.
 *
 * <p>bf16 plan: x, y and their gradients bf16, the products read a bf16 copy of W ({@link CudnnPlanner#kernelCopy})
 * through cublasGemmEx with float32 compute, and the weight gradient's product writes the float32 gradient directly;
 * the bias is added from a bf16 copy and its gradient goes through a bf16 temporary, as for convolutions.
 */
final class CudnnDense extends CudnnLayer {
    private final Dense spec;
    private int in;
    private CudnnBuffer x;
    private CudnnBuffer w;

    CudnnDense(Node node, Dense spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(CudnnPlanner p) {
        int units = spec.units();
        in = node.inputShapes().get(0).sizeAsInt();
        x = p.output(input());
        w = p.kernelCopy(node, "weight");
        CudnnBuffer b = spec.bias() ? p.kernelCopy(node, "bias") : null;
        CudnnBuffer y = p.activation(node, Kind.ACTIVATION);
        if (b != null) { // the bias first, the product onto it: one rounding (see BiasForward)
            p.forward(new CudnnOp.BiasForward(label("bias"), p.batch, units, 1, b, y, CudnnOp.Beta.ZERO));
        }
        p.forward(new CudnnOp.Gemm(label("forward"), true, false, units, p.batch, in, w, in, x, in, y, units,
                b != null ? CudnnOp.Beta.ONE : CudnnOp.Beta.ZERO));
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        int units = spec.units();
        CudnnBuffer dy = p.diff(node.name());
        CudnnBuffer dw = p.parameter(node, "weight", CudnnBuffer.Store.GRADIENTS);
        p.backward(new CudnnOp.Gemm(label("backward weights"), false, true, in, units, p.batch, x, in, dy, units, dw, in,
                CudnnOp.Beta.BY_MODE));
        if (spec.bias()) {
            CudnnBuffer db = p.gradientTarget(node, "bias");
            p.backward(new CudnnOp.BiasBackward(label("backward bias"), p.batch, units, 1, dy, db, p.gradientBeta()));
            p.addGradient(node, "bias", db);
        }
        if (p.requiresGrad(input())) {
            p.backward(new CudnnOp.Gemm(label("backward data"), false, false, in, p.batch, units, w, in, dy, units,
                    p.diff(input()), in, p.contribution(input())));
        }
    }
}
