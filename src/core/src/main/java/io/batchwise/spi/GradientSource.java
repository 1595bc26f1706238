package io.batchwise.spi;

import io.batchwise.backend.Parameters;

/**
 * Where an optimizer step's gradients come from. By default a {@link io.batchwise.train.Trainer} computes them on its
 * own executors (micro-batches accumulated in this process); with
 * {@link io.batchwise.train.Trainer.Builder#gradientSource} it asks this source and does the rest of the step itself
 * (gradient norm, clipping, schedule, update, step count, listeners, checkpoints), so that part is the same code for
 * one process and for many.
 *
 * <p>A worker computes its share with {@link io.batchwise.train.Trainer#gradientSum}: the same micro-batch loop the
 * single-process trainer runs.
 */
public interface GradientSource extends AutoCloseable {

    /**
     * The gradients of one optimizer step. Reads {@code parameters.values()} and {@code parameters.state()}; writes
     * into {@code parameters.gradients()} the sum over samples {@code order[from .. from + count)} of each sample's
     * loss gradient times {@link StepRequest#scale()} (so the step's mean gradient), and into
     * {@code parameters.state()} the BatchNorm running statistics the step leaves.
     */
    StepGradients accumulate(StepRequest request, Parameters parameters);

    /** Frees what the source holds; the trainer never calls it (the source's owner does). */
    @Override
    default void close() {
    }
}
