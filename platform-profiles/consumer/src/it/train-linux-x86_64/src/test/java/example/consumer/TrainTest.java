package example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** What a user does after adding the one dependency: pick the backend, train, see the loss fall. Public API only. */
class TrainTest {
    private static final int SIDE = 8;
    private static final int CLASSES = 4;

    @Test
    void aSmallConvolutionalNetworkLearnsOnOneDnn() {
        // Loads the oneDNN, OpenCL and JavaCPP natives: fails, naming what is missing, if the artifact lacks any.
        Backend cpu = Backends.get("onednn");
        Availability available = cpu.availability();
        assertTrue(available.available(), available.reason());
        assertEquals("onednn", Backends.auto().backend().name(), "auto prefers oneDNN once its natives load");

        Graph g = Graph.builder()
                .input("x", Shape.of(1, SIDE, SIDE))
                .then("conv", Conv2d.of(4, 3)).then("relu", new ReLU())   // (4, 6, 6)
                .then("pool", MaxPool2d.of(2))                              // (4, 3, 3)
                .then("fc", new Dense(CLASSES))
                .build();
        InMemoryDataset data = quadrants(256, 11);

        try (Trainer t = Trainer.builder(g, cpu)
                .loss(new SoftmaxCrossEntropy())
                .optimizer(Optimizer.Adam.of(1e-2))
                .batch(BatchSize.mini(64))
                .microBatch(32)                 // 2 micro-batches per step: accumulation, too
                .seed(7)
                .build()) {
            double before = t.evaluate(data).mean();
            t.fit(data, 6, Long.MAX_VALUE);     // 4 steps per epoch
            double after = t.evaluate(data).mean();
            System.out.printf("consumer: loss %.4f -> %.4f after %d steps on %s%n", before, after, t.step(), available.reason());
            assertEquals(24, t.step());
            assertTrue(Double.isFinite(after) && after < 0.5 * before, "loss did not go down: " + before + " -> " + after);
        }
    }

    /** Images of noise with one bright quadrant; the label is the quadrant. */
    private static InMemoryDataset quadrants(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * SIDE * SIDE];
        int[] y = new int[n];
        int half = SIDE / 2;
        for (int i = 0; i < n; i++) {
            y[i] = i % CLASSES;
            int r0 = (y[i] / 2) * half;
            int c0 = (y[i] % 2) * half;
            for (int h = 0; h < SIDE; h++) {
                for (int w = 0; w < SIDE; w++) {
                    boolean lit = h >= r0 && h < r0 + half && w >= c0 && w < c0 + half;
                    x[i * SIDE * SIDE + h * SIDE + w] = (float) (0.3 * r.nextGaussian() + (lit ? 1.0 : 0.0));
                }
            }
        }
        return InMemoryDataset.labelled(x, Shape.of(1, SIDE, SIDE), y);
    }
}
