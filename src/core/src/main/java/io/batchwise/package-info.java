/**
 * The model description: {@link io.batchwise.Graph} (an immutable, validated layer graph built with
 * {@link io.batchwise.Graph#builder()}), its {@link io.batchwise.Node}s, per-sample {@link io.batchwise.Shape}s and the
 * element {@link io.batchwise.DataType}. Layers are in {@link io.batchwise.layer}, training in
 * {@link io.batchwise.train}, the memory planner in {@link io.batchwise.plan}.
 */
package io.batchwise;
