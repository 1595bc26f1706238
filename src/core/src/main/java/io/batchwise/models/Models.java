package io.batchwise.models;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.layer.Add;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;

/**
 * The built-in models, for 1x28x28 inputs and 10 classes (Fashion-MNIST). The command-line trainer,
 * the tests and the benchmarks all use exactly these, so their figures compare.
 */
public final class Models {
    private Models() {
    }

    /** 784-256-128-10 with ReLU; the dense layer reads the (1, 28, 28) image flat. 1.0 MFLOP per sample per step. */
    public static Graph mlp() {
        return Graph.builder().input("x", Shape.of(1, 28, 28))
                .then("fc1", new Dense(256)).then("relu1", new ReLU())
                .then("fc2", new Dense(128)).then("relu2", new ReLU())
                .then("fc3", new Dense(10))
                .build();
    }

    /**
     * LeNet-5 without padding: conv5x5(6)+ReLU+maxpool2 -> (6, 12, 12), conv5x5(16)+ReLU+maxpool2 -> (16, 4, 4),
     * fc120+ReLU, fc84+ReLU, fc10. 1.5 MFLOP per sample per step.
     */
    public static Graph lenet() {
        return Graph.builder().input("x", Shape.of(1, 28, 28))
                .then("conv1", Conv2d.of(6, 5)).then("relu1", new ReLU()).then("pool1", MaxPool2d.of(2))
                .then("conv2", Conv2d.of(16, 5)).then("relu2", new ReLU()).then("pool2", MaxPool2d.of(2))
                .then("fc1", new Dense(120)).then("relu3", new ReLU())
                .then("fc2", new Dense(84)).then("relu4", new ReLU())
                .then("fc3", new Dense(10))
                .build();
    }

    /**
     * A small ResNet with BatchNorm: stem conv3x3(16)+BN+ReLU at 28x28, then three basic blocks
     * (16 channels at 28x28; 32 at 14x14 and 64 at 7x7, each entered with stride 2 and a 1x1 projection
     * with BN on the shortcut), global average pooling, fc10. Each block: conv3x3+BN+ReLU, conv3x3+BN,
     * Add(shortcut), ReLU.
     */
    public static Graph resnetSmall() {
        Graph.Builder g = Graph.builder().input("x", Shape.of(1, 28, 28))
                .then("stem", Conv2d.of(16, 3).padding(1).withBias(false)).then("stem_bn", new BatchNorm())
                .then("stem_relu", new ReLU());
        String in = "stem_relu";
        in = block(g, "b1", in, 16, 1, false);
        in = block(g, "b2", in, 32, 2, true);
        in = block(g, "b3", in, 64, 2, true);
        return g.add("pool", new GlobalAvgPool2d(), in).then("fc", new Dense(10)).build();
    }

    private static String block(Graph.Builder g, String name, String in, int channels, int stride, boolean project) {
        g.add(name + "_conv1", Conv2d.of(channels, 3).stride(stride).padding(1).withBias(false), in)
                .then(name + "_bn1", new BatchNorm()).then(name + "_relu1", new ReLU())
                .then(name + "_conv2", Conv2d.of(channels, 3).padding(1).withBias(false))
                .then(name + "_bn2", new BatchNorm());
        String shortcut = in;
        if (project) {
            g.add(name + "_proj", Conv2d.of(channels, 1).stride(stride).withBias(false), in)
                    .then(name + "_proj_bn", new BatchNorm());
            shortcut = name + "_proj_bn";
        }
        g.add(name + "_add", new Add(), shortcut, name + "_bn2").then(name + "_out", new ReLU());
        return name + "_out";
    }

    /** The model called {@code name}: {@code mlp}, {@code lenet} or {@code resnet-small}. */
    public static Graph byName(String name) {
        return switch (name) {
            case "mlp" -> mlp();
            case "lenet" -> lenet();
            case "resnet-small" -> resnetSmall();
            default -> throw new IllegalArgumentException("unknown model '" + name + "'; built in: mlp, lenet, resnet-small");
        };
    }
}
