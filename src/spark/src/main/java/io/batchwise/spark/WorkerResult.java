package io.batchwise.spark;

import io.batchwise.loss.LossResult;
import java.io.Serializable;

/**
 * One worker's share of a step, as its task returns it.
 *
 * @param partition the shard it computed
 * @param samples   samples in its share
 * @param gradient  (P) the sum over its samples of each one's loss gradient times the step's scale, logical order
 * @param state     (S) its BatchNorm running statistics after its micro-batches; empty without BatchNorm
 * @param lossSum   summed loss; {@code terms}, {@code correct}: loss terms and right answers
 * @param terms     loss terms
 * @param correct   samples classified right
 * @param passes    forward/backward passes it ran
 * @param loadNanos    time to load the step's weights (and state) into its worker trainer
 * @param computeNanos time of its gradient sum (the micro-batch loop)
 */
record WorkerResult(int partition, int samples, float[] gradient, float[] state, double lossSum, long terms, long correct,
                    int passes, long loadNanos, long computeNanos) implements Serializable {

    LossResult loss() {
        return new LossResult(lossSum, terms, samples, correct);
    }
}
