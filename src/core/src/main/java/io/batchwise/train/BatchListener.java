package io.batchwise.train;

/**
 * A {@link TrainingListener} that also receives each epoch's summary (with the gradient noise scale)
 * and every change of the effective batch. The trainer calls these on the training thread, after
 * {@link TrainingListener#onEpoch} and after the step that caused the change.
 */
public interface BatchListener extends TrainingListener {

    /** After each complete epoch. */
    default void onEpochEnd(EpochMetrics m) {
    }

    /** When an {@link AdaptiveBatch} changes the effective batch. */
    default void onBatchChange(BatchChange c) {
    }
}
