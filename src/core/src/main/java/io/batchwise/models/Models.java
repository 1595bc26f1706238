package io.batchwise.models;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.layer.Add;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Init;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import java.util.List;
import java.util.Locale;

/**
 * The built-in models, for 28x28 grey images {@code (1, 28, 28)} and 10 classes; each ends in
 * logits for softmax cross-entropy. Benchmarks compare against exactly these graphs.
 *
 * <ul>
 * <li>{@code mlp}: Dense 784-256-128-10 with ReLU. The first Dense reads the {@code (1, 28, 28)}
 *     input as a flat vector of 784, so there is no Flatten node. 235,146 parameters.</li>
 * <li>{@code lenet}: LeNet-5 style, no padding: conv 5x5 (6) + ReLU + max-pool 2
 *     {@code (6, 12, 12)}, conv 5x5 (16) + ReLU + max-pool 2 {@code (16, 4, 4)}, Dense 120 + ReLU,
 *     Dense 84 + ReLU, Dense 10. 44,426 parameters.</li>
 * <li>{@code resnet-small}: a small ResNet: stem conv 3x3 (16, padding 1, no bias) + BatchNorm +
 *     ReLU {@code (16, 28, 28)}; three stages of one basic block each, with 16, 32 (stride 2,
 *     {@code (32, 14, 14)}) and 64 (stride 2, {@code (64, 7, 7)}) channels; global average pool
 *     {@code (64)}; Dense 10. A basic block is conv 3x3 + BatchNorm + ReLU, conv 3x3 + BatchNorm,
 *     Add with the shortcut, ReLU; the shortcut is the identity, or a 1x1 convolution (stride 2, no
 *     bias) + BatchNorm where the shape changes. Convolutions before a BatchNorm have no bias.
 *     77,754 parameters.</li>
 * </ul>
 * Initial weights: Glorot-uniform in {@code mlp} and {@code lenet} (with the default training
 * settings they reach their accuracy figures sooner than with He-uniform), He-uniform (the layers'
 * default) in {@code resnet-small}, whose BatchNorm layers set the scale; biases start at zero,
 * BatchNorm at gamma 1, beta 0.
 */
public final class Models {
    /** Per-sample input shape of every built-in model. */
    public static final Shape INPUT = Shape.of(1, 28, 28);
    /** Classes, the size of every model's output. */
    public static final int CLASSES = 10;

    private Models() {
    }

    /** The model names {@link #byName} accepts. */
    public static List<String> names() {
        return List.of("mlp", "lenet", "resnet-small");
    }

    /** The built-in model called {@code name} ({@code mlp}, {@code lenet}, {@code resnet-small}). */
    public static Graph byName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "mlp" -> mlp();
            case "lenet", "lenet5", "lenet-5" -> lenet();
            case "resnet-small", "resnet" -> resnetSmall();
            default -> throw new IllegalArgumentException("unknown model '" + name + "'; built-in models: " + String.join(", ", names()));
        };
    }

    /** Dense 784-256-128-10 with ReLU. */
    public static Graph mlp() {
        return Graph.builder()
                .input("x", INPUT)                                      // (1, 28, 28), read flat as 784
                .then("fc1", dense(256)).then("relu1", new ReLU())      // (256)
                .then("fc2", dense(128)).then("relu2", new ReLU())      // (128)
                .then("fc3", dense(CLASSES))                            // (10)
                .build();
    }

    /** LeNet-5 style: two conv 5x5 + ReLU + max-pool 2 stages, then Dense 120-84-10. */
    public static Graph lenet() {
        return Graph.builder()
                .input("x", INPUT)                                                  // (1, 28, 28)
                .then("conv1", conv5x5(6)).then("relu1", new ReLU())              // (6, 24, 24)
                .then("pool1", MaxPool2d.of(2))                                     // (6, 12, 12)
                .then("conv2", conv5x5(16)).then("relu2", new ReLU())             // (16, 8, 8)
                .then("pool2", MaxPool2d.of(2))                                     // (16, 4, 4)
                .then("fc1", dense(120)).then("relu3", new ReLU())                 // (120)
                .then("fc2", dense(84)).then("relu4", new ReLU())                  // (84)
                .then("fc3", dense(CLASSES))                                        // (10)
                .build();
    }

    /** Stem, three one-block stages (16, 32/2, 64/2), global average pool, Dense 10. */
    public static Graph resnetSmall() {
        Graph.Builder g = Graph.builder().input("x", INPUT);                       // (1, 28, 28)
        g.then("stem.conv", conv3x3(16, 1)).then("stem.bn", new BatchNorm()).then("stem.relu", new ReLU()); // (16, 28, 28)
        String last = basicBlock(g, "s1", "stem.relu", 16, 16, 1);                 // (16, 28, 28)
        last = basicBlock(g, "s2", last, 16, 32, 2);                               // (32, 14, 14)
        last = basicBlock(g, "s3", last, 32, 64, 2);                               // (64, 7, 7)
        g.add("pool", new GlobalAvgPool2d(), last);                                // (64)
        g.then("fc", new Dense(CLASSES));                                          // (10)
        return g.build();
    }

    /** conv3x3 + BN + ReLU, conv3x3 + BN, + shortcut, ReLU; returns the name of the block's output. */
    private static String basicBlock(Graph.Builder g, String name, String in, int inChannels, int channels, int stride) {
        g.add(name + ".conv1", conv3x3(channels, stride), in)
                .then(name + ".bn1", new BatchNorm()).then(name + ".relu1", new ReLU())
                .then(name + ".conv2", conv3x3(channels, 1))
                .then(name + ".bn2", new BatchNorm());
        String shortcut = in;
        if (stride != 1 || inChannels != channels) {
            g.add(name + ".proj", Conv2d.of(channels, 1).stride(stride).withBias(false), in)
                    .then(name + ".proj_bn", new BatchNorm());
            shortcut = name + ".proj_bn";
        }
        g.add(name + ".add", new Add(), name + ".bn2", shortcut)
                .then(name + ".relu", new ReLU());
        return name + ".relu";
    }

    /** Dense with Glorot-uniform weights and zero bias (mlp, lenet). */
    private static Dense dense(int units) {
        return new Dense(units, true, Init.glorotUniform(), Init.zeros());
    }

    /** 5x5 convolution, stride 1, no padding, Glorot-uniform weights and zero bias (lenet). */
    private static Conv2d conv5x5(int channels) {
        return Conv2d.of(channels, 5).withInit(Init.glorotUniform(), Init.zeros());
    }

    private static Conv2d conv3x3(int channels, int stride) {
        return Conv2d.of(channels, 3).stride(stride).padding(1).withBias(false);
    }
}
