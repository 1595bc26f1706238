package io.batchwise.inference;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Concat;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.ELU;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.GELU;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Init;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Softmax;
import io.batchwise.layer.Tanh;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A graph with every layer kind (non-default hyper-parameters, two multi-input nodes), trained a little, and data. */
final class Fixtures {
    static final Shape SAMPLE = Shape.of(2, 8, 8);
    static final int CLASSES = 3;

    private Fixtures() {
    }

    static Graph everyLayer() {
        return Graph.builder()
                .input("x", SAMPLE)
                .then("conv1", Conv2d.of(4, 3).padding(1).withBias(false).withInit(Init.glorotNormal(), Init.constant(0.1f)))
                .then("bn1", new BatchNorm(1e-3f, 0.2f))
                .then("relu1", new ReLU())
                .then("max", MaxPool2d.of(2))                                  // (4, 4, 4)
                .add("avg", AvgPool2d.of(3, 2, 1, false), "relu1")             // (4, 4, 4)
                .add("sum", new Add(), "max", "avg")
                .add("cat", new Concat(), "sum", "max")                       // (8, 4, 4)
                .then("leaky", new LeakyReLU(0.2f))
                .then("elu", new ELU(0.5f))
                .then("conv2", Conv2d.of(6, 3).padding(2).dilation(2).withInit(Init.glorotUniform(), Init.zeros())) // (6, 4, 4)
                .then("gelu", new GELU())
                .then("softmax", new Softmax())
                .then("tanh", new Tanh())
                .then("gap", new GlobalAvgPool2d())                           // (6)
                .add("sigmoid", new Sigmoid(), "tanh")
                .then("flat", new Flatten())                                  // (96)
                .then("fc1", new Dense(6, true, Init.heNormal(), Init.constant(0.01f)))
                .add("sum2", new Add(), "gap", "fc1")
                .then("bn2", new BatchNorm())
                .then("drop", new Dropout(0.25f))
                .then("fc2", new Dense(CLASSES))
                .build();
    }

    /** {@code n} samples of seeded Gaussian inputs. */
    static float[] inputs(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * SAMPLE.sizeAsInt()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /** The graph trained for a few steps on {@code backend}, so that weights and BatchNorm statistics are not initial. */
    static Model trained(Backend backend) {
        int n = 64;
        int[] y = new int[n];
        Random r = new Random(2);
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(CLASSES);
        }
        try (Trainer t = Trainer.builder(everyLayer(), backend).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Adam.of(1e-2))
                .batch(BatchSize.mini(16)).microBatch(16).seed(7).build()) {
            t.fit(InMemoryDataset.labelled(inputs(n, 1), SAMPLE, y), 2, Long.MAX_VALUE);
            return Model.of(t.parameters());
        }
    }

    /** The backends that can run here, reference first. */
    static List<Backend> backends() {
        List<Backend> all = new ArrayList<>();
        all.add(Backends.get("reference"));
        for (Backend b : Backends.all()) {
            if (b.name().equals("onednn") && b.availability().available()) {
                all.add(b);
            }
        }
        return all;
    }
}
