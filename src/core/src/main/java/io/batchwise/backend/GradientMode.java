package io.batchwise.backend;

/** What backward does with the parameter gradients. */
public enum GradientMode {
    /** The first micro-batch of an effective batch: gradients = this micro-batch's. */
    OVERWRITE,
    /** Later micro-batches: gradients += this micro-batch's. */
    ACCUMULATE
}
