package io.batchwise.train;

/**
 * What one optimizer step did.
 *
 * @param epoch         epoch, from 0
 * @param step          optimizer step, from 1, counted over the whole run
 * @param samples       samples seen so far in the run
 * @param batch         samples in this step's effective batch
 * @param microBatches  forward/backward passes the step took
 * @param loss          mean loss over the effective batch
 * @param accuracy      share of the batch classified right (NaN for regression)
 * @param learningRate  the learning rate applied
 * @param gradientNorm  global L2 norm of the gradient before clipping; NaN unless computed (see
 *                      {@link Trainer.Builder#reportGradientNorm})
 * @param noiseScale    the smoothed gradient noise scale B_simple so far (NaN until measured; see {@link NoiseScale})
 * @param samplesPerSec throughput of this step
 */
public record StepMetrics(int epoch, long step, long samples, int batch, int microBatches, double loss, double accuracy,
                          double learningRate, double gradientNorm, double noiseScale, double samplesPerSec) {
}
