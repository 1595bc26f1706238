package io.batchwise.spark;

import java.io.Serializable;

/**
 * What the driver broadcasts for one optimizer step: the weights and BatchNorm state to compute at (logical order,
 * so executors whose backend stores parameters in another layout read them right) and the step's samples.
 *
 * @param step        the step being computed, from 1
 * @param batch       (B) global indices of the step's samples, in batch order
 * @param scale       each sample's loss gradient is multiplied by it: 1 / (B x loss terms per sample)
 * @param dropoutSeed the step's dropout seed
 * @param values      (P) trainable parameters, logical order
 * @param state       (S) BatchNorm running statistics; empty without BatchNorm
 * @param checksum    {@link #checksum} of values and state when this step is verified, else null
 */
record StepMessage(long step, int[] batch, double scale, long dropoutSeed, float[] values, float[] state, Long checksum)
        implements Serializable {

    /** A 64-bit hash of the exact bits of {@code values} then {@code state}: equal arrays, equal sums. */
    static long checksum(float[] values, float[] state) {
        long h = 0x9E3779B97F4A7C15L;
        for (float v : values) {
            h = (h ^ Float.floatToRawIntBits(v)) * 0x100000001B3L;
        }
        for (float v : state) {
            h = (h ^ Float.floatToRawIntBits(v)) * 0x100000001B3L;
        }
        return h ^ (h >>> 29);
    }
}
