package io.batchwise.train;

/**
 * Where a run stands: everything a resume needs besides the buffers, as the checkpoint stores it.
 *
 * @param step            optimizer steps taken
 * @param epoch           the epoch in progress, from 0
 * @param offsetInEpoch   samples of this epoch's order already trained on
 * @param samplesSeen     samples trained on in the run
 * @param currentBatch    the adaptive batch's current effective batch (0: fixed batch, or not started)
 * @param initialBatch    the adaptive batch's initial effective batch (0 likewise)
 * @param lastBatchChange the step of the adaptive batch's last change
 */
record RunPosition(long step, int epoch, int offsetInEpoch, long samplesSeen, int currentBatch, int initialBatch,
                   long lastBatchChange) {
}
