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
            java.util.List<OneDnnOp> normal = new java.util.ArrayList<>();
            if (m < 2) {
                // One value per channel has no variance (PyTorch raises too); inference still works.
                normal.add(new OneDnnOp.Host(label("check"), (ex, pass) -> {
                    throw new IllegalStateException("node " + node.describe() + ": batch statistics need more than one value"
                            + " per channel in a training pass, got " + m + " (micro-batch " + dims[0] + ", input "
                            + node.inputShapes().get(0) + ")");
                }));
            }
            normal.add(p.prim(label("forward (batch statistics)"), fwdTrain,
                    p.lazy(fwdTrain, batch_normalization_forward::new), DNNL_ARG_SRC, src, DNNL_ARG_DST, dst,
                    DNNL_ARG_MEAN, mean, DNNL_ARG_VARIANCE, variance, DNNL_ARG_SCALE, gamma, DNNL_ARG_SHIFT, beta,
                    DNNL_ARG_WORKSPACE, workspace));
            normal.add(new OneDnnOp.Host(label("running statistics"),
                    (ex, pass) -> updateRunning(ex.tensor(mean), ex.tensor(variance), ex.tensor(runningMean),
                            ex.tensor(runningVar), m), mean, variance, runningMean, runningVar));
            // Exact BatchNorm: the effective batch's statistics go into the same buffers, read as inputs;
            // backward then finds them where it finds the micro-batch's. Its descriptor and primitive are made on
            // first use (most plans never run exact mode, and the planner's search compiles many plans), with a
            // library-managed scratchpad, so the memory plan needs nothing from them.
            memory.desc data = src.md;
            OneDnnResources res = p.res;
            org.bytedeco.dnnl.engine eng = p.eng;
            float eps = spec.epsilon();
            OneDnnOp.Lazy fixedForward = new OneDnnOp.Lazy(res, () -> new batch_normalization_forward(
                    res.own(new batch_normalization_forward.primitive_desc(eng, prop_kind.forward_training.value, data, data,
                            eps, SCALE_SHIFT | normalization_flags.use_global_stats.value,
                            res.own(new org.bytedeco.dnnl.primitive_attr()), false))));
            java.util.List<OneDnnOp> fixed = java.util.List.of(
                    new OneDnnOp.Host(label("effective-batch statistics"), (ex, pass) -> {
                        var f = ex.fix(node.name());
                        OneDnnTensor mt = ex.tensor(mean);
                        OneDnnTensor vt = ex.tensor(variance);
                        for (int c = 0; c < channels; c++) {
                            mt.putAt(c, (float) f.mean()[c]);
                            vt.putAt(c, (float) f.variance()[c]);
                        }
                    }, mean, variance),
                    OneDnnPlanner.prim(label("forward (effective-batch statistics)"), (memory.desc) null, fixedForward,
                            DNNL_ARG_SRC, src, DNNL_ARG_DST, dst,
                            DNNL_ARG_MEAN, mean, DNNL_ARG_VARIANCE, variance, DNNL_ARG_SCALE, gamma, DNNL_ARG_SHIFT, beta));
            p.forwardTrainingOnly(new OneDnnOp.Choice(label("forward"), node.name(), normal, fixed));
            p.batchNormStatistics.put(node.name(), new OneDnnBuffer[] {mean, variance});
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

    /**
     * Exact BatchNorm backward. The primitive computed, with the effective batch's statistics,
     * {@code dx = gamma invstd (dy - s1 / m - xhat s2 / m)} where s1, s2 are this micro-batch's sums of
     * dy and dy xhat over its m values per channel; the effective batch's gradient has its sums
     * {@code S1, S2} over {@code count} values instead, so add {@code gamma invstd ((s1/m - S1/count) +
     * xhat (s2/m - S2/count))}. Host loops over logical indices: exact mode trades time for exactness.
     */
    private void correct(io.batchwise.backend.BatchNormFix f, OneDnnTensor x, OneDnnTensor dy, OneDnnTensor dx, OneDnnTensor g) {
        int n = (int) dims[0];
        int c = (int) channels;
        long sp = OneDnnMd.product(dims) / (n * channels);
        double m = n * (double) sp;
        for (int k = 0; k < c; k++) {
            double mu = f.mean()[k];
            double invstd = 1 / Math.sqrt(f.variance()[k] + spec.epsilon());
            double s1 = 0;
            double s2 = 0;
            for (int b = 0; b < n; b++) {
                long base = ((long) b * c + k) * sp;
                for (long q = 0; q < sp; q++) {
                    double d = dy.get(base + q);
                    s1 += d;
                    s2 += d * (x.get(base + q) - mu) * invstd;
                }
            }
            double gi = g.getAt(k) * invstd;
            double a = s1 / m - f.sumDy()[k] / f.count();
            double bb = s2 / m - f.sumDyXhat()[k] / f.count();
            for (int b = 0; b < n; b++) {
                long base = ((long) b * c + k) * sp;
                for (long q = 0; q < sp; q++) {
                    double xhat = (x.get(base + q) - mu) * invstd;
                    dx.set(base + q, dx.get(base + q) + gi * (a + xhat * bb));
                }
            }
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
        OneDnnPlanner.GradOut gg = p.gradOut(node, "gamma", DNNL_ARG_DIFF_SCALE, p.plainF32(channels), channels);
        OneDnnPlanner.GradOut gb = p.gradOut(node, "beta", DNNL_ARG_DIFF_SHIFT, p.plainF32(channels), channels);
        p.backwardWithGradients(label("backward"), scratch, p.lazy(bwd, batch_normalization_backward::new),
                new Object[] {DNNL_ARG_SRC, src, DNNL_ARG_MEAN, mean, DNNL_ARG_VARIANCE, variance, DNNL_ARG_DIFF_DST, diff,
                    DNNL_ARG_SCALE, gamma, DNNL_ARG_DIFF_SRC, target, DNNL_ARG_WORKSPACE, workspace}, gg, gb);
        if (toInput != null) {
            OneDnnBuffer x = src;
            p.backward(new OneDnnOp.Host(label("effective-batch correction"), (ex, pass) -> {
                var f = ex.fix(node.name());
                if (f != null && f.corrects()) {
                    correct(f, ex.tensor(x), ex.tensor(diff), ex.tensor(target), ex.tensor(gamma));
                }
            }, x, diff, target, gamma), null);
            p.fold(toInput);
        }
    }
}
