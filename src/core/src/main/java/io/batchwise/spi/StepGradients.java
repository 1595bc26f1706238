package io.batchwise.spi;

import io.batchwise.loss.LossResult;

/**
 * What computing a step's gradients also yields.
 *
 * @param loss   loss and accuracy sums over the step's samples
 * @param passes forward/backward passes run for them (micro-batches, summed over workers)
 */
public record StepGradients(LossResult loss, int passes) {
}
