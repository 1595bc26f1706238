/**
 * Using a trained model: {@link io.batchwise.model.Model} (a graph with its weights and BatchNorm running statistics,
 * saved to and loaded from a versioned, checksummed model file), {@link io.batchwise.model.Predictor} (thread-safe
 * inference in batches the memory planner chooses) and {@link io.batchwise.model.Evaluation} (confusion matrix,
 * per-class precision, recall and F1, top-k accuracy).
 */
package io.batchwise.model;
