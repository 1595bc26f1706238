package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MEAN;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_VARIANCE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;

import io.batchwise.Node;
import io.batchwise.layer.BatchNorm;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.global.dnnl.normalization_flags;
import org.bytedeco.dnnl.global.dnnl.prop_kind;

/**
 * Batch normalisation over axis 1 of {@code (b, C)} or {@code (b, C, H, W)}, in its producer's layout.
 * Training: statistics of the batch (oneDNN writes MEAN and VARIANCE, C values each), then the host
 * updates the running statistics in {@code Parameters.state()} the PyTorch way, with the unbiased
 * variance {@code var * m / (m - 1)}, {@code m = b * H * W}. Inference: the running statistics
 * ({@code use_global_stats}). Backward: {@code use_scale | use_shift}.
 */
final class OneDnnBatchNorm extends OneDnnLayer {
    private static final int SCALE_SHIFT = normalization_flags.use_scale.value | normalization_flags.use_shift.value;

    private final BatchNorm spec;
    private long[] dims;
    private long channels;
    private batch_normalization_forward.primitive_desc fwdTrain;
    private batch_normalization_backward.primitive_desc bwd;
    private OneDnnBuffer src;
    private OneDnnBuffer mean;
    private OneDnnBuffer variance;
    private OneDnnBuffer workspace;
    private OneDnnBuffer gamma;
    private OneDnnPlanner.Contribution toInput;

    OneDnnBatchNorm(Node node, BatchNorm spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(OneDnnPlanner p) {
        src = p.output(node.inputs().get(0));
        dims = OneDnnMd.dims(src.md);
        channels = dims[1];
        gamma = p.parameter(node, "gamma", OneDnnBuffer.Store.VALUES, channels);
        OneDnnBuffer beta = p.parameter(node, "beta", OneDnnBuffer.Store.VALUES, channels);
        OneDnnBuffer runningMean = p.parameter(node, "runningMean", OneDnnBuffer.Store.STATE, channels);
        OneDnnBuffer runningVar = p.parameter(node, "runningVar", OneDnnBuffer.Store.STATE, channels);
        batch_normalization_forward.primitive_desc fwdInfer;
        try {
            fwdInfer = p.own(new batch_normalization_forward.primitive_desc(p.eng, prop_kind.forward_inference.value, src.md,
                    src.md, spec.epsilon(), SCALE_SHIFT | normalization_flags.use_global_stats.value, p.sharedAttr, false));
            if (p.training) {
                fwdTrain = p.own(new batch_normalization_forward.primitive_desc(p.eng, prop_kind.forward_training.value, src.md,
                        src.md, spec.epsilon(), SCALE_SHIFT, p.sharedAttr, false));
            }
        } catch (RuntimeException e) {
            throw failure("a batch normalization", e, src.md);
        }
        OneDnnBuffer dst = p.activation(node, fwdInfer.dst_desc(), Kind.ACTIVATION);
        p.forwardInferenceOnly(p.prim(label("forward (running statistics)"), fwdInfer,
                p.lazy(fwdInfer, batch_normalization_forward::new), DNNL_ARG_SRC, src, DNNL_ARG_DST, dst,
                DNNL_ARG_MEAN, runningMean, DNNL_ARG_VARIANCE, runningVar, DNNL_ARG_SCALE, gamma, DNNL_ARG_SHIFT, beta));
        if (p.training) {
            mean = p.workspace(node, "mean", fwdTrain.mean_desc());
            variance = p.workspace(node, "variance", fwdTrain.variance_desc());
            memory.desc wsMd = fwdTrain.workspace_desc();
            workspace = wsMd.get_size() > 0 ? p.workspace(node, "workspace", wsMd) : null;
            long m = OneDnnMd.product(dims) / channels;
            if (m < 2) {
                // One value per channel has no variance (PyTorch raises too); inference still works.
                p.forwardTrainingOnly(new OneDnnOp.Host(label("check"), (ex, pass) -> {
                    throw new IllegalStateException("node " + node.describe() + ": batch statistics need more than one value"
                            + " per channel in a training pass, got " + m + " (micro-batch " + dims[0] + ", input "
                            + node.inputShapes().get(0) + ")");
                }));
            }
            p.forwardTrainingOnly(p.prim(label("forward (batch statistics)"), fwdTrain,
                    p.lazy(fwdTrain, batch_normalization_forward::new), DNNL_ARG_SRC, src, DNNL_ARG_DST, dst,
                    DNNL_ARG_MEAN, mean, DNNL_ARG_VARIANCE, variance, DNNL_ARG_SCALE, gamma, DNNL_ARG_SHIFT, beta,
                    DNNL_ARG_WORKSPACE, workspace));
            p.forwardTrainingOnly(new OneDnnOp.Host(label("running statistics"),
                    (ex, pass) -> updateRunning(ex.tensor(mean), ex.tensor(variance), ex.tensor(runningMean),
                            ex.tensor(runningVar), m), mean, variance, runningMean, runningVar));
        }
        p.setOutput(node, dst);
    }

    /** running = (1 - momentum) * running + momentum * batch statistic; the variance unbiased. */
    private void updateRunning(OneDnnTensor batchMean, OneDnnTensor batchVar, OneDnnTensor runMean, OneDnnTensor runVar, long m) {
        double mom = spec.momentum();
        double unbias = m > 1 ? (double) m / (m - 1) : 1.0;
        for (int c = 0; c < channels; c++) {
            runMean.putAt(c, (float) ((1 - mom) * runMean.getAt(c) + mom * batchMean.getAt(c)));
            runVar.putAt(c, (float) ((1 - mom) * runVar.getAt(c) + mom * batchVar.getAt(c) * unbias));
        }
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        try {
            bwd = p.own(new batch_normalization_backward.primitive_desc(p.eng, prop_kind.backward.value, p.any(dims),
                    p.any(dims), src.md, spec.epsilon(), SCALE_SHIFT, fwdTrain, p.sharedAttr, false));
        } catch (RuntimeException e) {
            bwd = p.own(new batch_normalization_backward.primitive_desc(p.eng, prop_kind.backward.value, src.md, src.md,
                    src.md, spec.epsilon(), SCALE_SHIFT, fwdTrain, p.sharedAttr, false));
        }
        String input = node.inputs().get(0);
        if (p.requiresGrad(input)) {
            toInput = p.contribution(node, input, "diff_src", bwd.diff_src_desc(), false);
        }
        return bwd.diff_dst_desc();
    }

    @Override
    void backward(OneDnnPlanner p) {
        int step = p.backwardStep(node);
        OneDnnBuffer diff = p.diff(node.name());
        OneDnnBuffer target = toInput != null ? p.target(toInput)
                : p.temporary(node, "diff_src", Kind.ACTIVATION_GRADIENT, bwd.diff_src_desc(), step);
        memory.desc scratch = p.record(label("backward"), bwd);
        OneDnnPlanner.GradOut gg = p.gradOut(node, "gamma", DNNL_ARG_DIFF_SCALE, p.plain(channels), channels);
        OneDnnPlanner.GradOut gb = p.gradOut(node, "beta", DNNL_ARG_DIFF_SHIFT, p.plain(channels), channels);
        p.backwardWithGradients(label("backward"), scratch, p.lazy(bwd, batch_normalization_backward::new),
                new Object[] {DNNL_ARG_SRC, src, DNNL_ARG_MEAN, mean, DNNL_ARG_VARIANCE, variance, DNNL_ARG_DIFF_DST, diff,
                    DNNL_ARG_SCALE, gamma, DNNL_ARG_DIFF_SRC, target, DNNL_ARG_WORKSPACE, workspace}, gg, gb);
        if (toInput != null) {
            p.fold(toInput);
        }
    }
}
