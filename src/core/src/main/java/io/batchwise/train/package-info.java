/**
 * Training with an exact effective batch: {@link io.batchwise.train.Trainer} splits each optimizer step into
 * micro-batches the memory planner sized and accumulates their gradients, so the step equals one step on the whole
 * batch. Also here: the {@link io.batchwise.train.Optimizer}s and learning-rate {@link io.batchwise.train.Schedule}s,
 * {@link io.batchwise.train.Dataset} and {@link io.batchwise.train.InMemoryDataset}, checkpoints
 * ({@link io.batchwise.train.CheckpointPolicy}), the gradient noise scale ({@link io.batchwise.train.NoiseScale}), an
 * effective batch that grows with it ({@link io.batchwise.train.AdaptiveBatch}), the batch
 * {@link io.batchwise.train.Advisor} and the metrics a {@link io.batchwise.train.TrainingListener} receives.
 */
package io.batchwise.train;
