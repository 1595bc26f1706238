package io.batchwise.train;

import io.batchwise.Graph;
import io.batchwise.backend.Precision;

/** The few lines that tell a user how a run splits and normalises its batches (what {@code batchwise train} prints first). */
final class TrainingReport {
    private TrainingReport() {
    }

    /**
     * @param big           the effective batch
     * @param micro         the micro-batch
     * @param datasetSize   samples in the training set (an adaptive batch grows to at most this)
     * @param noiseMeasured whether the run measures the noise scale
     * @param hasBatchNorm  whether the graph has BatchNorm layers
     */
    static String describe(TrainingConfig c, Graph graph, int big, int micro, int datasetSize, boolean noiseMeasured,
                           boolean hasBatchNorm) {
        int k = (big + micro - 1) / micro;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("effective batch %d (%s), micro-batch %d, accumulation steps %d%n", big, c.batch(), micro, k));
        if (c.precision() == Precision.BF16_MIXED) {
            sb.append(String.format("precision: bf16 activations and weight copies; float32 master weights, gradients,"
                    + " optimizer state and accumulation%n"));
        }
        AdaptiveBatch adaptive = c.adaptiveBatch();
        if (adaptive != null) {
            sb.append(String.format("adaptive batch: grows toward the measured noise scale B_simple, up to %d, at most every %d"
                            + " steps; learning rate not rescaled (Smith et al. 2017), schedule followed in epochs%n",
                    Math.min(adaptive.maxBatch(), datasetSize), adaptive.interval()));
        }
        if (noiseMeasured) {
            int every = c.noiseScaleEvery();
            String when = every == 1 ? "every step" : "every " + every + " steps";
            sb.append(k > 1 ? String.format("noise scale: measured %s from the first micro-batch and the accumulated gradient%n", when)
                    : c.splitsSinglePass() ? String.format("noise scale: measured %s by splitting the single-pass step into two halves%n", when)
                    : String.format("noise scale: not measured (one micro-batch per step)%n"));
        }
        sb.append(String.format("loss: sum over each micro-batch, scaled once by 1/(%d x %d terms)%n", big,
                c.loss().termsPerSample(graph.output().outputShape())));
        if ((k > 1 || c.splitsSinglePass()) && hasBatchNorm) {
            sb.append(c.batchNorm() == BatchNormMode.EXACT
                    ? String.format("BatchNorm: exact statistics over the effective batch of %d (extra sweeps per step: 2L forward,"
                            + " L backward for L BatchNorm layers)%n", big)
                    : String.format("BatchNorm: ghost statistics over each micro-batch of %d, not over the effective batch of %d%n",
                            micro, big));
        }
        return sb.toString();
    }
}
