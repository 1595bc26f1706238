/**
 * Service-provider interfaces: what code that extends Batchwise implements, as opposed to what a user calls.
 * {@link io.batchwise.spi.GradientSource} lets a training step take its gradients from elsewhere (the Spark module's
 * workers) while the {@link io.batchwise.train.Trainer} does the rest of the step (clipping, schedule, update,
 * checkpoints) as it always does. {@link io.batchwise.spi.GradientFlow} is the one rule a backend's planner
 * follows for which nodes backward runs for; {@link io.batchwise.spi.BoundExecutors} a plan's bookkeeping of its
 * executors (one close order); {@link io.batchwise.backend.ParameterLayout#requireFits} the one rule for whether
 * parameters fit a plan; {@link io.batchwise.spi.SharedArena} the check of an arena shared between executors;
 * {@link io.batchwise.spi.Lifetimes} the memory plan's lifetimes stretched to where a planner's ops use each buffer;
 * {@link io.batchwise.spi.Bf16} the one bfloat16 rounding of every backend's host copies.
 */
package io.batchwise.spi;
