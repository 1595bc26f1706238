package io.batchwise.train;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.BatchNormFix;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.layer.BatchNorm;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.Targets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One effective batch of {@code count} samples, run as micro-batches, with every BatchNorm layer
 * normalising by the statistics of the whole effective batch ({@link BatchNormMode#EXACT}).
 *
 * <ol>
 *   <li>Statistics, layer by layer in graph order: a forward sweep over all micro-batches with the
 *       earlier layers fixed to their effective-batch statistics collects this layer's per-micro-batch
 *       mean and variance, combined exactly (Chan et al.'s parallel variance) in float64.</li>
 *   <li>Backward sums, layer by layer in reverse order: a forward-and-backward sweep with the later
 *       layers' corrections in place sums this layer's {@code diff_beta = sum dy} and
 *       {@code diff_gamma = sum dy xhat} over the effective batch.</li>
 *   <li>The step itself: every layer fixed, with its sums, gradients accumulated as usual.</li>
 * </ol>
 * The running statistics move once, with the effective batch's mean and unbiased variance.
 */
final class ExactBatchNorm {
    private ExactBatchNorm() {
    }

    /** What the trainer provides: the executor for a micro-batch with its inputs written, and its targets. */
    interface MicroBatches {
        /** The executor for the {@code m} samples at offset {@code off} of the effective batch, input written. */
        Executor load(int off, int m);

        Targets targets(int off, int m);
    }

    static boolean applies(Graph graph) {
        return graph.nodes().stream().anyMatch(n -> n.layer() instanceof BatchNorm);
    }

    /**
     * Runs the step's passes; the parameter gradients hold the effective batch's gradient (times
     * {@code scale}) afterwards and the running statistics have moved once. Returns the loss summed over
     * the effective batch.
     */
    static LossResult step(Graph graph, Parameters params, int count, int micro, MicroBatches mbs, Loss loss, double scale,
                           long seed) {
        List<Node> bns = new ArrayList<>();
        for (Node n : graph.nodes()) {
            if (n.layer() instanceof BatchNorm) {
                bns.add(n);
            }
        }
        ParameterLayout layout = params.layout();
        Map<String, BatchNormFix> fixes = new LinkedHashMap<>();
        List<Executor> used = new ArrayList<>();
        float[] before = params.state().toArray(); // the sweeps below move the running statistics
        try {
            // 1. Statistics, first layer first.
            for (Node bn : bns) {
                int c = bn.outputShape().dim(0);
                long perSample = bn.outputShape().size() / c;
                double[] mean = new double[c];
                double[] m2 = new double[c]; // sum of squared deviations
                long n = 0;
                double[] mb = new double[c];
                double[] vb = new double[c];
                for (int off = 0; off < count; off += micro) {
                    int m = Math.min(micro, count - off);
                    Executor ex = prepare(mbs.load(off, m), fixes, used);
                    ex.fixBatchNorm(bn.name(), null);
                    ex.forward(Pass.training(seed, off));
                    ex.batchNormStatistics(bn.name(), mb, vb);
                    long nb = m * perSample;
                    for (int k = 0; k < c; k++) {
                        double delta = mb[k] - mean[k];
                        long total = n + nb;
                        mean[k] += delta * nb / total;
                        m2[k] += vb[k] * nb + delta * delta * n * nb / total;
                    }
                    n += nb;
                }
                double[] var = new double[c];
                for (int k = 0; k < c; k++) {
                    var[k] = m2[k] / n;
                }
                fixes.put(bn.name(), new BatchNormFix(mean, var, null, null, n));
            }
            // 2. Backward sums, last layer first: a layer's dy depends only on the layers after it.
            for (int i = bns.size() - 1; i >= 0; i--) {
                Node bn = bns.get(i);
                int c = bn.outputShape().dim(0);
                long gamma = layout.slot(bn.name(), "gamma").offset();
                long beta = layout.slot(bn.name(), "beta").offset();
                double[] sumDy = new double[c];
                double[] sumDyXhat = new double[c];
                float[] buf = new float[c];
                for (int off = 0; off < count; off += micro) {
                    int m = Math.min(micro, count - off);
                    Executor ex = prepare(mbs.load(off, m), fixes, used);
                    ex.forward(Pass.training(seed, off));
                    ex.loss(loss, mbs.targets(off, m), scale);
                    ex.backward(GradientMode.OVERWRITE);
                    params.gradients().read(beta, buf, 0, c);
                    for (int k = 0; k < c; k++) {
                        sumDy[k] += buf[k];
                    }
                    params.gradients().read(gamma, buf, 0, c);
                    for (int k = 0; k < c; k++) {
                        sumDyXhat[k] += buf[k];
                    }
                }
                BatchNormFix f = fixes.get(bn.name());
                fixes.put(bn.name(), new BatchNormFix(f.mean(), f.variance(), sumDy, sumDyXhat, f.count()));
            }
            // 3. The step.
            LossResult total = LossResult.ZERO;
            for (int off = 0; off < count; off += micro) {
                int m = Math.min(micro, count - off);
                Executor ex = prepare(mbs.load(off, m), fixes, used);
                ex.forward(Pass.training(seed, off));
                total = total.plus(ex.loss(loss, mbs.targets(off, m), scale));
                ex.backward(off == 0 ? GradientMode.OVERWRITE : GradientMode.ACCUMULATE);
            }
            // Running statistics: as one pass over the effective batch would have moved them.
            float[] state = before.clone();
            for (Node bn : bns) {
                BatchNorm spec = (BatchNorm) bn.layer();
                BatchNormFix f = fixes.get(bn.name());
                int rm = Math.toIntExact(layout.slot(bn.name(), "runningMean").offset());
                int rv = Math.toIntExact(layout.slot(bn.name(), "runningVar").offset());
                double unbias = f.count() > 1 ? (double) f.count() / (f.count() - 1) : 1.0;
                for (int k = 0; k < f.mean().length; k++) {
                    state[rm + k] = (float) ((1 - spec.momentum()) * state[rm + k] + spec.momentum() * f.mean()[k]);
                    state[rv + k] = (float) ((1 - spec.momentum()) * state[rv + k] + spec.momentum() * f.variance()[k] * unbias);
                }
            }
            params.state().write(state);
            return total;
        } catch (RuntimeException | Error e) {
            params.state().write(before); // a failed step leaves the running statistics as they were
            throw e;
        } finally {
            for (Executor ex : used) {
                for (Node bn : bns) {
                    ex.fixBatchNorm(bn.name(), null);
                }
            }
        }
    }

    private static Executor prepare(Executor ex, Map<String, BatchNormFix> fixes, List<Executor> used) {
        if (!used.contains(ex)) {
            used.add(ex);
        }
        fixes.forEach(ex::fixBatchNorm);
        return ex;
    }
}
