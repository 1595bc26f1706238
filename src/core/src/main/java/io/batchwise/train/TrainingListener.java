package io.batchwise.train;

/** Receives metrics as training runs. Called on the training thread; keep it quick. */
public interface TrainingListener {

    default void onStep(StepMetrics m) {
    }

    /** After each epoch, with its mean loss and accuracy over the samples it trained on. */
    default void onEpoch(int epoch, double loss, double accuracy) {
    }

    /** After each complete epoch, after {@link #onEpoch}: its summary with the gradient noise scale. */
    default void onEpochEnd(EpochMetrics m) {
    }

    /** After the step at which an {@link AdaptiveBatch} changed the effective batch. */
    default void onBatchChange(BatchChange c) {
    }

    /**
     * Before the trainer writes a checkpoint at optimizer step {@code step}: a listener that logs steps
     * forces its log to disk here, so the rows the checkpoint covers survive whatever stops the run next.
     */
    default void beforeCheckpoint(long step) throws java.io.IOException {
    }
}
