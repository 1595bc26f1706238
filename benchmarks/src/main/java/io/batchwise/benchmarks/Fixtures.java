package io.batchwise.benchmarks;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Parameters;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.models.Models;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.util.SplittableRandom;

/** Models, synthetic data, trainers and direct oneDNN loops shared by the benchmarks. */
final class Fixtures {
    private Fixtures() {
    }

    /** The trainers' seed: their initial weights (and the direct loop's, see {@link #direct}). */
    static final long TRAINER_SEED = 7;

    /** Layers in {@link #deep50()}, the input node not counted. */
    static final int DEEP50_LAYERS = 50;

    /**
     * A plain 50-layer convolutional network at 28x28: 16 blocks of conv3x3 (padding 1, no bias) + BatchNorm
     * + ReLU (blocks 1-8 with 16 channels, blocks 9-16 with 32), then global average pooling and fc10.
     * 48 + 2 = 50 layers (51 graph nodes with the input), 86,490 parameters (+ 768 BatchNorm running
     * statistics).
     * <pre>
     * x (1, 28, 28) -> [conv3x3(16) bn relu] x 8 -> (16, 28, 28)
     *               -> [conv3x3(32) bn relu] x 8 -> (32, 28, 28) -> pool (32) -> fc (10)
     * </pre>
     */
    static Graph deep50() {
        Graph.Builder g = Graph.builder().input("x", Shape.of(1, 28, 28));
        for (int i = 1; i <= 16; i++) {
            int channels = i <= 8 ? 16 : 32;
            g.then("conv" + i, Conv2d.of(channels, 3).padding(1).withBias(false))
                    .then("bn" + i, new BatchNorm())
                    .then("relu" + i, new ReLU());
        }
        return g.then("pool", new GlobalAvgPool2d()).then("fc", new Dense(10)).build();
    }

    /** {@code mlp}, {@code lenet}, {@code resnet-small} (the built-in models) or {@code deep50}. */
    static Graph model(String name) {
        return name.equals("deep50") ? deep50() : Models.byName(name);
    }

    /** {@code n} images (1, 28, 28) uniform in [0, 1) with labels uniform in [0, 10), from {@code seed}. */
    static InMemoryDataset images(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * 28 * 28]; // (n, 1, 28, 28)
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble();
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(10);
        }
        return InMemoryDataset.labelled(x, Shape.of(1, 28, 28), y);
    }

    /** All of {@code data}'s inputs, flat, sample-major. */
    static float[] inputs(InMemoryDataset data) {
        float[] x = new float[Math.toIntExact((long) data.size() * data.sampleShape().size())];
        data.copyInputs(identity(data.size()), 0, data.size(), x);
        return x;
    }

    /** All of {@code data}'s class labels. */
    static int[] labels(InMemoryDataset data) {
        Targets.Labels t = (Targets.Labels) data.targets(identity(data.size()), 0, data.size());
        int[] y = new int[data.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = t.label(i);
        }
        return y;
    }

    /**
     * The direct oneDNN loop for {@code model} ({@code mlp} or {@code lenet}) on {@code data} ({@code k m} samples) as
     * {@code k} micro-batches of {@code m}, starting from the weights a {@link #trainer} of the same model starts from
     * (its parameters initialised with seed 7).
     */
    static DirectLoop direct(String model, InMemoryDataset data, int m, int k) {
        DirectLoop d = new DirectLoop(model, m, k, inputs(data), labels(data));
        try (Parameters p = Backends.get("onednn").createParameters(model(model), DataType.FLOAT32).initialize(TRAINER_SEED)) {
            for (String[] name : d.parameterNames()) {
                d.setParameter(name[0], name[1], p.read(name[0], name[1]));
            }
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    /** 0, 1, ..., n-1: the sample order of one effective batch. */
    static int[] identity(int n) {
        int[] o = new int[n];
        for (int i = 0; i < n; i++) {
            o[i] = i;
        }
        return o;
    }

    /** A trainer with softmax cross-entropy, an effective batch of {@code batch} in micro-batches of {@code micro}. */
    static Trainer trainer(Graph g, Backend backend, Optimizer optimizer, int batch, int micro) {
        return trainer(g, backend, optimizer, batch, micro, io.batchwise.backend.Precision.FLOAT32);
    }

    /** {@link #trainer(Graph, Backend, Optimizer, int, int)} in {@code precision}. */
    static Trainer trainer(Graph g, Backend backend, Optimizer optimizer, int batch, int micro,
                           io.batchwise.backend.Precision precision) {
        return Trainer.builder(g, backend)
                .precision(precision)
                .loss(new SoftmaxCrossEntropy())
                .optimizer(optimizer)
                .batch(BatchSize.mini(batch))
                .microBatch(micro)
                .shuffle(false)
                .seed(TRAINER_SEED)
                .build();
    }
}
