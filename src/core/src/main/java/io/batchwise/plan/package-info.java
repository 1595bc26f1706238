/**
 * Memory planning: {@link io.batchwise.plan.MemoryPlanner} chooses the largest micro-batch whose training step fits a
 * {@link io.batchwise.plan.Budget}, from the backend's own plans, before anything is allocated;
 * {@link io.batchwise.plan.MemoryPlan} is the lifetime-based layout of one step's buffers.
 */
package io.batchwise.plan;
