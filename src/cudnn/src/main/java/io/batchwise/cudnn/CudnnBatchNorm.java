package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.layer.BatchNorm;
import io.batchwise.plan.MemoryPlan.Kind;

/**
 * Batch normalisation through cuDNN in spatial mode over {@code (b, C, H, W)} ({@code (b, C)} is
 * {@code H = W = 1}). A training pass normalises with the batch's statistics, saves the mean and
 * {@code 1 / sqrt(var + eps)} (C each) for backward, and lets cuDNN update the running statistics in
 * {@code Parameters.state()} with factor {@code momentum} and the unbiased variance, as PyTorch does.
 * An inference pass uses the running statistics.
 *
 * <p>Exact BatchNorm ({@link CudnnOp.Exact}): with the effective batch's statistics fixed, a training pass
 * normalises with them through cuDNN's inference call (the running statistics stay as they are) and leaves
 * them where backward finds the micro-batch's (mean, {@code 1 / sqrt(var + eps)}); cuDNN's backward then
 * differentiates through them with this micro-batch's sums, and a kernel swaps those sums for the effective
 * batch's ({@code batch_norm_exact_correction}).
 *
 * <p>bf16 plan: x, y and their gradients bf16; gamma, beta, the statistics and the parameter gradients float32, as
 * cuDNN takes them beside bf16 data (its derived BatchNorm descriptor is float32 for bf16 data).
 */
final class CudnnBatchNorm extends CudnnLayer {
    private final BatchNorm spec;
    private int c;
    private int h;
    private int w;
    private CudnnBuffer x;
    private CudnnBuffer gamma;
    private CudnnBuffer saveMean;
    private CudnnBuffer saveInvStd;

    CudnnBatchNorm(Node node, BatchNorm spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(CudnnPlanner p) {
        Shape s = node.outputShape();
        c = s.dim(0);
        h = s.rank() == 3 ? s.dim(1) : 1;
        w = s.rank() == 3 ? s.dim(2) : 1;
        x = p.output(input());
        gamma = p.parameter(node, "gamma", CudnnBuffer.Store.VALUES);
        CudnnBuffer shift = p.parameter(node, "beta", CudnnBuffer.Store.VALUES);
        CudnnBuffer runningMean = p.parameter(node, "runningMean", CudnnBuffer.Store.STATE);
        CudnnBuffer runningVar = p.parameter(node, "runningVar", CudnnBuffer.Store.STATE);
        CudnnBuffer y = p.activation(node, Kind.ACTIVATION);
        if (p.training) {
            long m = (long) p.batch * h * w;
            if (m < 2) {
                // One value per channel has no variance (PyTorch raises too); inference still works.
                p.forwardTrainingOnly(new CudnnOp.Fail(label("check"), "node " + node.describe() + ": batch statistics need"
                        + " more than one value per channel in a training pass, got " + m + " (micro-batch " + p.batch
                        + ", input " + node.inputShapes().get(0) + ")"));
            }
            saveMean = p.workspace(node, "mean", Shape.of(c));
            saveInvStd = p.workspace(node, "inv_std", Shape.of(c));
            CudnnOp batch = new CudnnOp.BatchNormTraining(label("forward (batch statistics)"), p.batch, c, h, w, spec.epsilon(),
                    spec.momentum(), x, y, gamma, shift, runningMean, runningVar, saveMean, saveInvStd);
            // Exact mode: the fixed variance is read at this step only; mean and 1 / sqrt(var + eps) stay for backward.
            CudnnBuffer variance = p.temporary(node, "exact_variance", Kind.WORKSPACE, Shape.of(c), p.forwardStep(node));
            CudnnOp fixed = new CudnnOp.BatchNormInference(label("forward (effective-batch statistics)"), p.batch, c, h, w,
                    spec.epsilon(), x, y, gamma, shift, saveMean, variance);
            CudnnOp.Exact exact = new CudnnOp.Exact(label("forward"), node.name(), CudnnOp.FixStage.STATISTICS, spec.epsilon(),
                    batch, fixed, new CudnnBuffer[] {saveMean, variance, saveInvStd});
            p.forwardTrainingOnly(exact);
            p.batchNorms.put(node.name(), exact);
        }
        p.forwardInferenceOnly(new CudnnOp.BatchNormInference(label("forward (running statistics)"), p.batch, c, h, w,
                spec.epsilon(), x, y, gamma, shift, runningMean, runningVar));
        p.setOutput(node, y);
    }

    @Override
    void backward(CudnnPlanner p) {
        CudnnBuffer dx;
        CudnnOp.Beta dataBeta;
        if (p.requiresGrad(input())) {
            dx = p.diff(input());
            dataBeta = p.contribution(input());
        } else {
            // cuDNN always writes the data gradient: give it a place nobody reads.
            dx = p.temporary(node, "diff_src", Kind.ACTIVATION_GRADIENT, x.shape, p.act, p.backwardStep(node));
            dataBeta = CudnnOp.Beta.ZERO;
        }
        CudnnBuffer dy = p.diff(node.name());
        p.backward(new CudnnOp.BatchNormBackward(label("backward"), p.batch, c, h, w, spec.epsilon(), x, dy,
                dx, dataBeta, gamma, p.parameter(node, "gamma", CudnnBuffer.Store.GRADIENTS),
                p.parameter(node, "beta", CudnnBuffer.Store.GRADIENTS), CudnnOp.Beta.BY_MODE, saveMean, saveInvStd));
        if (p.requiresGrad(input())) {
            // Exact mode with the effective batch's sums: dx (n, c, h w) through them instead of this micro-batch's.
            int step = p.backwardStep(node);
            CudnnBuffer meanDy = p.temporary(node, "exact_mean_dy", Kind.WORKSPACE, Shape.of(c), step);
            CudnnBuffer meanDyXhat = p.temporary(node, "exact_mean_dy_xhat", Kind.WORKSPACE, Shape.of(c), step);
            p.backward(new CudnnOp.Exact(label("effective-batch correction"), node.name(), CudnnOp.FixStage.SUMS,
                    spec.epsilon(), null, new CudnnOp.BatchNormCorrection(label("effective-batch correction"), p.batch, c, h * w,
                            x, dy, gamma, saveMean, saveInvStd, meanDy, meanDyXhat, dx), new CudnnBuffer[] {meanDy, meanDyXhat}));
        }
    }
}
