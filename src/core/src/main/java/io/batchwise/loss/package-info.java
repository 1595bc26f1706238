/**
 * Losses reported as sums over their terms, so that gradient accumulation normalises once:
 * {@link io.batchwise.loss.SoftmaxCrossEntropy} and {@link io.batchwise.loss.MeanSquaredError}, with their
 * {@link io.batchwise.loss.Targets} (class labels or dense values) and {@link io.batchwise.loss.LossResult}.
 */
package io.batchwise.loss;
