package io.batchwise.cli;

import picocli.CommandLine.Option;

/** The flags {@code train} and {@code plan} share: what to plan, on what, in how much memory. */
final class SetupOptions {
    @Option(names = "--model", paramLabel = "mlp|lenet|resnet-small", defaultValue = "lenet",
            converter = Specs.ModelConverter.class,
            description = "Built-in model: mlp (Dense 784-256-128-10), lenet (LeNet-5 style), resnet-small"
                    + " (3-stage ResNet with BatchNorm). Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--batch", paramLabel = "N|full", defaultValue = "32", converter = Specs.BatchConverter.class,
            description = "Effective batch: samples per optimizer step; 1 is stochastic, full is full-batch gradient"
                    + " descent. Exact whatever the micro-batch. Default: ${DEFAULT-VALUE}.")
    Specs.Batch batch;

    @Option(names = "--micro-batch", paramLabel = "auto|N", defaultValue = "auto", converter = Specs.MicroBatchConverter.class,
            description = "Samples per forward/backward pass; gradients of ceil(batch / N) micro-batches are accumulated."
                    + " auto: the largest that fits the memory budget. Default: ${DEFAULT-VALUE}.")
    Specs.MicroBatch microBatch;

    @Option(names = "--memory-budget", paramLabel = "auto|SIZE", defaultValue = "auto",
            converter = Specs.MemoryBudgetConverter.class,
            description = "Memory a training step may use, e.g. 64MiB, 2GiB, 500MB. auto: physical memory (or the"
                    + " cgroup limit) less the Java heap and 512 MiB. Default: ${DEFAULT-VALUE}.")
    Specs.MemoryBudget memoryBudget;

    @Option(names = "--backend", paramLabel = "auto|onednn|cudnn|reference", defaultValue = "auto",
            description = "Compute backend. auto: the most preferred one that can run here. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "adamw", converter = Specs.OptimizerConverter.class,
            description = "sgd, momentum, nesterov (momentum 0.9), adam, adamw (weight decay 0.1), adagrad, rmsprop or"
                    + " adadelta; other hyper-parameters are PyTorch's defaults. Default: ${DEFAULT-VALUE}.")
    Specs.OptimizerName optimizer;

    @Option(names = "--train-limit", paramLabel = "N", converter = Specs.PositiveInt.class,
            description = "Use only the first N training samples. Default: all 60,000.")
    Integer trainLimit;
}
