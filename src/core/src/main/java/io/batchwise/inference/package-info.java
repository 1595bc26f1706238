/**
 * Using a trained model: {@link io.batchwise.inference.Model} (a graph with its weights and BatchNorm running statistics,
 * saved to and loaded from a versioned, checksummed model file), {@link io.batchwise.inference.Predictor} (thread-safe
 * inference in batches the memory planner chooses) and {@link io.batchwise.inference.Evaluation} (confusion matrix,
 * per-class precision, recall and F1, top-k accuracy).
 */
package io.batchwise.inference;
