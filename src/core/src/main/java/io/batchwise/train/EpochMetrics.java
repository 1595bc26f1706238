package io.batchwise.train;

/**
 * What one epoch did, delivered to {@link TrainingListener#onEpochEnd} when the epoch is complete.
 *
 * @param epoch             epoch, from 0
 * @param step              optimizer steps taken in the run when it ended
 * @param samples           samples seen in the run when it ended
 * @param batch             the effective batch at its end (it changes only with an {@link AdaptiveBatch})
 * @param microBatch        the micro-batch at its end
 * @param loss              mean training loss over the samples it trained on (since a resume, if it resumed mid-epoch)
 * @param accuracy          their share classified right (NaN for regression)
 * @param noiseScale        the smoothed gradient noise scale B_simple at its end (NaN while not measured)
 * @param noiseMeasurements steps that measured the noise scale in the run so far
 */
public record EpochMetrics(int epoch, long step, long samples, int batch, int microBatch, double loss, double accuracy,
                           double noiseScale, long noiseMeasurements) {
}
