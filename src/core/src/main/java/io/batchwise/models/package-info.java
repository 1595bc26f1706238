/**
 * The built-in models ({@link io.batchwise.models.Models}: {@code mlp}, {@code lenet}, {@code resnet-small}) for
 * 28x28 grey images of 10 classes, the graphs the command-line trainer and the benchmarks use.
 */
package io.batchwise.models;
