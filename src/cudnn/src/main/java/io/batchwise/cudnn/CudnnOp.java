package io.batchwise.cudnn;

import io.batchwise.backend.GradientMode;
import java.util.ArrayList;
import java.util.List;

/**
 * One call of a compiled program, as data: which cuDNN, cuBLAS or kernel call, over which buffers,
 * with which shapes. The planner builds these without a device; a {@link CudnnDevice} runs them.
 * Outputs are blended as cuDNN and cuBLAS do, {@code out = result + beta * out}, with
 * {@link Beta#ZERO} never reading {@code out}.
 */
sealed interface CudnnOp {

    /** e.g. {@code conv1 forward}: names the node in errors and traces. */
    String label();

    /** Every buffer the call touches (for lifetimes and binding). */
    CudnnBuffer[] buffers();

    /** How an output is blended with what it held. */
    enum Beta {
        /** Overwrite (the first contribution to a gradient). */
        ZERO,
        /** Add (later contributions). */
        ONE,
        /** A parameter gradient: overwrite in {@link GradientMode#OVERWRITE}, add in {@link GradientMode#ACCUMULATE}. */
        BY_MODE;

        float value(GradientMode mode) {
            return switch (this) {
                case ZERO -> 0f;
                case ONE -> 1f;
                case BY_MODE -> mode == GradientMode.ACCUMULATE ? 1f : 0f;
            };
        }
    }

    /** Element-wise activations: the first four through cuDNN, the last two as kernels (cuDNN has none). */
    enum Act {
        RELU, SIGMOID, TANH, ELU, LEAKY_RELU, GELU;

        boolean cudnn() {
            return this != LEAKY_RELU && this != GELU;
        }
    }

    // ---- convolution (cuDNN) ----

    /**
     * {@code y = conv(x, w) + beta y}: x (n, c, h, w), w (k, c, r, s), y (n, k, oh, ow); workspace may be null. With a
     * bias, y holds it already ({@link BiasForward} with beta ZERO) and beta is ONE: conv + bias is rounded once.
     */
    record ConvForward(String label, ConvGeometry g, ConvAlgorithms algorithms, CudnnBuffer x, CudnnBuffer w, CudnnBuffer y,
                       Beta beta, CudnnBuffer workspace) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, w, y, workspace);
        }
    }

    /** {@code dx = conv_backward_data(w, dy) + beta dx}. */
    record ConvBackwardData(String label, ConvGeometry g, ConvAlgorithms algorithms, CudnnBuffer w, CudnnBuffer dy,
                            CudnnBuffer dx, Beta beta, CudnnBuffer workspace) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(w, dy, dx, workspace);
        }
    }

    /** {@code dw = conv_backward_filter(x, dy) + beta dw}. */
    record ConvBackwardFilter(String label, ConvGeometry g, ConvAlgorithms algorithms, CudnnBuffer x, CudnnBuffer dy,
                              CudnnBuffer dw, Beta beta, CudnnBuffer workspace) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, dy, dw, workspace);
        }
    }

    /**
     * {@code y (n, c, hw) = bias (c) + beta y} per channel (cudnnAddTensor): convolution and dense biases, written
     * (beta ZERO) before the product accumulates onto them, so that a bf16 output is rounded once, from the float32
     * sum: rounding the product first and adding the bias after could move a value near zero across a ReLU's kink.
     */
    record BiasForward(String label, int n, int c, int hw, CudnnBuffer bias, CudnnBuffer y, Beta beta) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(bias, y);
        }
    }

    /** {@code db (c) = sum over n and hw of dy (n, c, hw) + beta db} (cudnnConvolutionBackwardBias). */
    record BiasBackward(String label, int n, int c, int hw, CudnnBuffer dy, CudnnBuffer db, Beta beta) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(dy, db);
        }
    }

    // ---- matrix product (cuBLAS, column-major as cublasSgemm) ----

    /**
     * {@code C (m, n) = op(A) (m, k) op(B) (k, n) + beta C}, column-major with leading dimensions: cublasSgemm, or in a
     * bf16 plan cublasGemmEx with bf16 A and B, C bf16 or float32 (a weight gradient) and float32 compute.
     */
    record Gemm(String label, boolean transA, boolean transB, int m, int n, int k, CudnnBuffer a, int lda, CudnnBuffer b,
                int ldb, CudnnBuffer c, int ldc, Beta beta) implements CudnnOp {
        public Gemm {
            if (a.type != b.type) { // cublasGemmEx takes A and B of one type
                throw new IllegalArgumentException(label + ": A " + a + " and B " + b + " differ in type");
            }
        }

        public CudnnBuffer[] buffers() {
            return of(a, b, c);
        }
    }

    // ---- pooling, activations, softmax (cuDNN; two activations as kernels) ----

    record PoolForward(String label, PoolGeometry g, CudnnBuffer x, CudnnBuffer y) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y);
        }
    }

    /** {@code dx = pool_backward(x, y, dy) + beta dx}. */
    record PoolBackward(String label, PoolGeometry g, CudnnBuffer x, CudnnBuffer y, CudnnBuffer dy, CudnnBuffer dx, Beta beta)
            implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y, dy, dx);
        }
    }

    /** {@code y = f(x)} over {@code n x c} elements (a tensor (n, c, 1, 1) for cuDNN); coef: ELU alpha, LeakyReLU slope. */
    record ActForward(String label, Act act, float coef, int n, int c, CudnnBuffer x, CudnnBuffer y) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y);
        }

        long elements() {
            return (long) n * c;
        }
    }

    /** {@code dx = f'(x) dy + beta dx}. */
    record ActBackward(String label, Act act, float coef, int n, int c, CudnnBuffer x, CudnnBuffer y, CudnnBuffer dy,
                       CudnnBuffer dx, Beta beta) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y, dy, dx);
        }

        long elements() {
            return (long) n * c;
        }
    }

    /** Softmax over c at every (n, hw): x, y (n, c, hw). */
    record SoftmaxForward(String label, int n, int c, int hw, CudnnBuffer x, CudnnBuffer y) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y);
        }
    }

    record SoftmaxBackward(String label, int n, int c, int hw, CudnnBuffer y, CudnnBuffer dy, CudnnBuffer dx, Beta beta)
            implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(y, dy, dx);
        }
    }

    // ---- batch normalisation (cuDNN, spatial: statistics per channel over n, h, w) ----

    /**
     * Batch statistics: {@code y = gamma (x - mean) / sqrt(var + eps) + shift}, saving the mean and
     * {@code 1 / sqrt(var + eps)} (c each) for backward, and updating the running statistics with
     * {@code momentum} (the running variance unbiased). x, y (n, c, h, w); the rest (c).
     */
    record BatchNormTraining(String label, int n, int c, int h, int w, double epsilon, double momentum, CudnnBuffer x,
                             CudnnBuffer y, CudnnBuffer gamma, CudnnBuffer shift, CudnnBuffer runningMean,
                             CudnnBuffer runningVar, CudnnBuffer saveMean, CudnnBuffer saveInvStd) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y, gamma, shift, runningMean, runningVar, saveMean, saveInvStd);
        }
    }

    /** Running statistics: {@code y = gamma (x - runningMean) / sqrt(runningVar + eps) + shift}. */
    record BatchNormInference(String label, int n, int c, int h, int w, double epsilon, CudnnBuffer x, CudnnBuffer y,
                              CudnnBuffer gamma, CudnnBuffer shift, CudnnBuffer runningMean, CudnnBuffer runningVar)
            implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y, gamma, shift, runningMean, runningVar);
        }
    }

    /** {@code dx (+ dataBeta dx)}, {@code dgamma, dshift (+ paramBeta)} from the statistics the forward saved. */
    record BatchNormBackward(String label, int n, int c, int h, int w, double epsilon, CudnnBuffer x, CudnnBuffer dy,
                             CudnnBuffer dx, Beta dataBeta, CudnnBuffer gamma, CudnnBuffer dGamma, CudnnBuffer dShift,
                             Beta paramBeta, CudnnBuffer saveMean, CudnnBuffer saveInvStd) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, dy, dx, gamma, dGamma, dShift, saveMean, saveInvStd);
        }
    }

    /**
     * Exact BatchNorm's backward correction (batch_norm_exact_correction): {@code dx += gamma invStd ((s1 / m - meanDy)
     * + xhat (s2 / m - meanDyXhat))} with this micro-batch's sums {@code s1 = sum dy}, {@code s2 = sum dy xhat} over
     * its {@code m = n hw} values per channel. x, dy, dx (n, c, hw); gamma, mean, invStd, meanDy, meanDyXhat (c).
     */
    record BatchNormCorrection(String label, int n, int c, int hw, CudnnBuffer x, CudnnBuffer dy, CudnnBuffer gamma,
                               CudnnBuffer mean, CudnnBuffer invStd, CudnnBuffer meanDy, CudnnBuffer meanDyXhat,
                               CudnnBuffer dx) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, dy, gamma, mean, invStd, meanDy, meanDyXhat, dx);
        }
    }

    /** What part of a BatchNorm's fix an {@link Exact} op uses. */
    enum FixStage {
        /** The effective batch's statistics: inputs mean, variance, {@code 1 / sqrt(variance + epsilon)}. */
        STATISTICS,
        /** Its backward sums, as means over its values: inputs {@code sumDy / count}, {@code sumDyXhat / count}. */
        SUMS
    }

    /**
     * Exact BatchNorm ({@link io.batchwise.backend.Executor#fixBatchNorm}): while BatchNorm node {@code node} has a
     * fix (for {@link FixStage#SUMS}, one with the effective batch's sums), the executor writes the fix's values
     * (float32, c each) into {@code inputs} and runs {@code fixed}; otherwise it runs {@code normal}. A null op is
     * nothing. Devices only ever see the op the executor picked.
     */
    record Exact(String label, String node, FixStage stage, double epsilon, CudnnOp normal, CudnnOp fixed,
                 CudnnBuffer[] inputs) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            List<CudnnBuffer> all = new ArrayList<>(List.of(inputs));
            for (CudnnOp op : new CudnnOp[] {normal, fixed}) {
                if (op != null) {
                    all.addAll(List.of(op.buffers()));
                }
            }
            return all.toArray(new CudnnBuffer[0]);
        }
    }

    // ---- kernels (native/cuda) ----

    /** {@code y = a x + beta y} over n elements (vec_axpby): copies, sums, gradient accumulation. */
    record Axpby(String label, long n, float a, CudnnBuffer x, Beta beta, CudnnBuffer y) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, y);
        }
    }

    /**
     * {@code dst = src + beta dst} between float32 and bfloat16 over n elements (convert_f32_bf16, rounding to nearest
     * even; convert_bf16_f32, exact): a bf16 plan's conversions, the caller's input into the bf16 activation, the
     * float32 master weights into the bf16 copies the kernels read, the bf16 output into the float32 stage the loss
     * reads and its gradient back, a bf16 weight gradient added into the float32 one. Into bf16, beta is ZERO.
     */
    record Convert(String label, long n, CudnnBuffer src, CudnnBuffer dst, Beta beta) implements CudnnOp {
        public Convert {
            if (src.type == dst.type) {
                throw new IllegalArgumentException(label + ": " + src + " and " + dst + " have the same type");
            }
            if (dst.bf16() && beta != Beta.ZERO) {
                throw new IllegalArgumentException(label + ": a conversion into bf16 overwrites");
            }
        }

        public CudnnBuffer[] buffers() {
            return of(src, dst);
        }
    }

    /** {@code y = x z + beta y} element-wise (vec_mul): dropout's mask. */
    record Mul(String label, long n, CudnnBuffer x, CudnnBuffer z, Beta beta, CudnnBuffer y) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(x, z, y);
        }
    }

    /** {@code y = value} over n elements (vec_fill). */
    record Fill(String label, long n, float value, CudnnBuffer y) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(y);
        }
    }

    /** For o < outer, j < block: {@code dst[o dstStride + dstOffset + j] = src[o srcStride + srcOffset + j] + beta dst[..]}. */
    record SliceCopy(String label, long outer, long block, CudnnBuffer src, long srcStride, long srcOffset, CudnnBuffer dst,
                     long dstStride, long dstOffset, Beta beta) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(src, dst);
        }
    }

    /**
     * The dropout mask of node {@code node} for the pass's seed and first sample: {@code samples x perSample}
     * values, {@code 1 / (1 - rate)} where kept, 0 elsewhere (dropout_mask).
     */
    record DropoutMask(String label, String node, float rate, long samples, long perSample, CudnnBuffer mask) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(mask);
        }
    }

    /** Softmax cross-entropy of logits (batch, classes) against int labels (softmax_cross_entropy). */
    record CrossEntropyLoss(String label, int batch, int classes, float smoothing, CudnnBuffer logits, CudnnBuffer labels,
                            CudnnBuffer gradient, CudnnBuffer losses, CudnnBuffer correct) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(logits, labels, gradient, losses, correct);
        }
    }

    /** Squared error of outputs (batch, per) against targets (squared_error). */
    record SquaredErrorLoss(String label, int batch, long per, CudnnBuffer output, CudnnBuffer targets, CudnnBuffer gradient,
                            CudnnBuffer losses) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return of(output, targets, gradient, losses);
        }
    }

    // ---- host ----

    /** Refuses to run: a pass this plan cannot compute (BatchNorm statistics of one value), with the reason. */
    record Fail(String label, String message) implements CudnnOp {
        public CudnnBuffer[] buffers() {
            return new CudnnBuffer[0];
        }
    }

    /** A backward op and the gradient mode it runs in (null: both). */
    record Tagged(CudnnOp op, GradientMode only) {
    }

    private static CudnnBuffer[] of(CudnnBuffer... bs) {
        int n = 0;
        for (CudnnBuffer b : bs) {
            n += b != null ? 1 : 0;
        }
        CudnnBuffer[] out = new CudnnBuffer[n];
        int i = 0;
        for (CudnnBuffer b : bs) {
            if (b != null) {
                out[i++] = b;
            }
        }
        return out;
    }
}
