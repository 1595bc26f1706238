package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Pass;
import io.batchwise.layer.BatchNorm;
import java.util.List;

/**
 * Batch normalisation over the channel axis, {@code src (N, C, S) -> dst (N, C, S)} with S = H * W
 * (S = 1 for a 1d {@code (C)} input); {@code gamma, beta (C)}; state {@code runningMean,
 * runningVar (C)}. Each channel has m = N * S values.
 * <ul>
 *   <li>Training pass: {@code mean} and biased {@code var} over the m values,
 *       {@code dst = gamma * (src - mean) / sqrt(var + eps) + beta}; the running statistics move
 *       towards the batch's as PyTorch does, with the unbiased variance {@code var * m / (m - 1)}.
 *       The workspace {@code stats (2, C)} keeps {@code mean} and {@code 1 / sqrt(var + eps)} for
 *       backward. With m = 1 the batch variance is undefined: the pass throws (as PyTorch does).</li>
 *   <li>Inference pass: the same with {@code runningMean} and {@code runningVar}.</li>
 *   <li>Backward after a training pass differentiates through the batch statistics:
 *       with {@code xhat = (src - mean) * invstd},
 *       {@code diff_beta = sum diff_dst}, {@code diff_gamma = sum diff_dst * xhat},
 *       {@code diff_src = gamma * invstd / m * (m * diff_dst - diff_beta - xhat * diff_gamma)}.
 *       After an inference pass the statistics are constants: {@code diff_src = gamma * invstd * diff_dst}.</li>
 *   <li>With a {@link io.batchwise.backend.BatchNormFix} (exact BatchNorm), a training pass uses its
 *       statistics and leaves the running ones alone; backward uses its effective-batch sums when it
 *       has them.</li>
 * </ul>
 */
final class RefBatchNorm extends RefOp {
    private final int c;
    private final int s;
    /** Values per channel: N * S. */
    private final int m;
    private final double eps;
    private final double momentum;
    private final int gamma;
    private final int beta;
    private final int runningMean;
    private final int runningVar;

    RefBatchNorm(Node node, int batch, ParameterLayout layout) {
        super(node, batch);
        BatchNorm bn = (BatchNorm) node.layer();
        c = node.outputShape().dim(0);
        s = spatial(node.outputShape());
        m = batch * s;
        eps = bn.epsilon();
        momentum = bn.momentum();
        gamma = offset(layout, "gamma");
        beta = offset(layout, "beta");
        runningMean = offset(layout, "runningMean");
        runningVar = offset(layout, "runningVar");
    }

    @Override
    List<Workspace> workspaces() {
        return List.of(new Workspace("stats", 2 * c, false));
    }

    private int index(int n, int k, int p) {
        return (n * c + k) * s + p;
    }

    @Override
    void forward(RefNodeTensors t, Pass pass) {
        double[] src = t.src(0);   // (N, C, S)
        double[] dst = t.dst();    // (N, C, S)
        double[] p = t.values();
        double[] state = t.state();
        RefTensor stats = t.workspace("stats"); // (2, C): mean, invstd; null in inference plans
        var fix = pass.training() ? t.batchNormFix : null;
        if (pass.training() && fix == null && m < 2) {
            throw new IllegalStateException(node.describe() + ": a training pass needs more than one value per channel"
                    + " to compute batch statistics, got micro-batch " + batch + " of shape " + node.outputShape());
        }
        for (int k = 0; k < c; k++) {
            double mean;
            double invstd;
            if (fix != null) {
                // Exact BatchNorm: the effective batch's statistics; the running ones move once per step elsewhere.
                mean = fix.mean()[k];
                invstd = 1 / Math.sqrt(fix.variance()[k] + eps);
                if (stats != null) {
                    stats.set(k, mean);
                    stats.set(c + k, invstd);
                }
            } else if (pass.training()) {
                double sum = 0;
                for (int n = 0; n < batch; n++) {
                    for (int q = 0; q < s; q++) {
                        sum += src[index(n, k, q)];
                    }
                }
                mean = sum / m;
                double sq = 0; // two passes: no cancellation in E[x^2] - E[x]^2
                for (int n = 0; n < batch; n++) {
                    for (int q = 0; q < s; q++) {
                        double d = src[index(n, k, q)] - mean;
                        sq += d * d;
                    }
                }
                double var = sq / m;
                invstd = 1 / Math.sqrt(var + eps);
                state[runningMean + k] = (1 - momentum) * state[runningMean + k] + momentum * mean;
                state[runningVar + k] = (1 - momentum) * state[runningVar + k] + momentum * var * m / (m - 1);
                if (stats != null) {
                    stats.set(k, mean);
                    stats.set(c + k, invstd);
                }
            } else {
                mean = state[runningMean + k];
                invstd = 1 / Math.sqrt(state[runningVar + k] + eps);
            }
            double g = p[gamma + k];
            double b = p[beta + k];
            for (int n = 0; n < batch; n++) {
                for (int q = 0; q < s; q++) {
                    int i = index(n, k, q);
                    dst[i] = g * (src[i] - mean) * invstd + b;
                }
            }
        }
    }

    @Override
    void backward(RefNodeTensors t, boolean training) {
        double[] src = t.src(0);          // (N, C, S)
        double[] diffSrc = t.diffSrc(0);  // (N, C, S) or null
        double[] diffDst = t.diffDst();   // (N, C, S)
        double[] p = t.values();
        double[] g = t.gradients();
        double[] state = t.state();
        RefTensor stats = t.workspace("stats");
        var fix = training ? t.batchNormFix : null;
        boolean exact = fix != null && fix.corrects();
        for (int k = 0; k < c; k++) {
            double mean = training ? stats.data[k] : state[runningMean + k];
            double invstd = training ? stats.data[c + k] : 1 / Math.sqrt(state[runningVar + k] + eps);
            double dBeta = 0;
            double dGamma = 0;
            for (int n = 0; n < batch; n++) {
                for (int q = 0; q < s; q++) {
                    int i = index(n, k, q);
                    dBeta += diffDst[i];
                    dGamma += diffDst[i] * (src[i] - mean) * invstd;
                }
            }
            g[gamma + k] += dGamma;
            g[beta + k] += dBeta;
            if (diffSrc == null) {
                continue;
            }
            double gi = p[gamma + k] * invstd;
            for (int n = 0; n < batch; n++) {
                for (int q = 0; q < s; q++) {
                    int i = index(n, k, q);
                    if (exact) {
                        double xhat = (src[i] - mean) * invstd;
                        diffSrc[i] += gi * (diffDst[i] - fix.sumDy()[k] / fix.count() - xhat * fix.sumDyXhat()[k] / fix.count());
                    } else if (training) {
                        double xhat = (src[i] - mean) * invstd;
                        diffSrc[i] += gi / m * (m * diffDst[i] - dBeta - xhat * dGamma);
                    } else {
                        diffSrc[i] += gi * diffDst[i];
                    }
                }
            }
        }
    }
}
