package io.batchwise.cli;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Init;
import io.batchwise.train.InMemoryDataset;
import java.util.Random;

/**
 * A linear regression whose gradient noise scale is known in closed form (as in testkit's
 * TrainingSuite): y = w*.x + eps, x ~ N(0, I_8), eps ~ N(0, 1), w* = (0.5, ..., 0.5), per-sample loss
 * (w.x - y)^2. At w = 0: |G|^2 = 4 |w*|^2 = 8, tr(Sigma) = 4 ((d + 1) |w*|^2 + d) = 104, so
 * B_simple = 13 (Isserlis' theorem; derivation in TrainingSuite). Run on the reference backend.
 */
final class Regression {
    static final int D = 8;
    static final double B_SIMPLE_AT_ZERO = 13;

    private Regression() {
    }

    static InMemoryDataset data(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * D];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            double t = 0;
            for (int j = 0; j < D; j++) {
                x[i * D + j] = (float) r.nextGaussian();
                t += 0.5 * x[i * D + j];
            }
            y[i] = (float) (t + r.nextGaussian());
        }
        return InMemoryDataset.regression(x, Shape.of(D), y, Shape.of(1));
    }

    /** One Dense unit without bias, weights zero. */
    static Graph model() {
        return Graph.builder().input("x", Shape.of(D)).then("w", new Dense(1, false, Init.zeros(), Init.zeros())).build();
    }

    static Backend backend() {
        return Backends.get("reference");
    }
}
