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
            p.forwardTrainingOnly(new CudnnOp.BatchNormTraining(label("forward (batch statistics)"), p.batch, c, h, w,
                    spec.epsilon(), spec.momentum(), x, y, gamma, shift, runningMean, runningVar, saveMean, saveInvStd));
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
            dx = p.temporary(node, "diff_src", Kind.ACTIVATION_GRADIENT, x.shape, p.backwardStep(node));
            dataBeta = CudnnOp.Beta.ZERO;
        }
        p.backward(new CudnnOp.BatchNormBackward(label("backward"), p.batch, c, h, w, spec.epsilon(), x, p.diff(node.name()),
                dx, dataBeta, gamma, p.parameter(node, "gamma", CudnnBuffer.Store.GRADIENTS),
                p.parameter(node, "beta", CudnnBuffer.Store.GRADIENTS), CudnnOp.Beta.BY_MODE, saveMean, saveInvStd));
    }
}
