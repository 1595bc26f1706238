/**
 * Exact synchronous data-parallel training on Apache Spark: {@link io.batchwise.spark.SparkTrainer} runs one effective
 * batch over the executors of a cluster, each optimizer step equal to one step of one process on the whole batch;
 * {@link io.batchwise.spark.SparkData} caches the shards of {@link io.batchwise.spark.Sample}s and a
 * {@link io.batchwise.spark.GraphFactory} rebuilds the graph on each executor.
 */
package io.batchwise.spark;
