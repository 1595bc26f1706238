package io.batchwise.train;

/** Receives metrics as training runs. Called on the training thread; keep it quick. */
public interface TrainingListener {

    default void onStep(StepMetrics m) {
    }

    /** After each epoch, with its mean loss and accuracy over the samples it trained on. */
    default void onEpoch(int epoch, double loss, double accuracy) {
    }
}
