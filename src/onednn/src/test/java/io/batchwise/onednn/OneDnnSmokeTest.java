package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.DataType;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.DropoutMask;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A few layers against values computed here with plain Java loops. */
class OneDnnSmokeTest {
    private final OneDnnBackend backend = new OneDnnBackend();

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (2 * r.nextDouble() - 1);
        }
        return a;
    }

    static void assertClose(float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            double scale = Math.max(1, Math.abs(expected[i]));
            assertTrue(Math.abs(expected[i] - actual[i]) <= tol * scale,
                    "element " + i + ": expected " + expected[i] + ", got " + actual[i]);
        }
    }

    @Test
    void denseForwardAndBackward() {
        int b = 3, in = 5, out = 4;
        Graph g = Graph.builder().input("x", Shape.of(in)).then("fc", new Dense(out)).build();
        float[] x = random(b * in, 1);
        float[] w = random(out * in, 2);
        float[] bias = random(out, 3);
        float[] dy = random(b * out, 4);
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining().withInputGradients());
             Executor ex = plan.bind(p)) {
            p.write("fc", "weight", w);
            p.write("fc", "bias", bias);
            ex.input().write(x);
            ex.forward(Pass.training(1, 0));
            float[] y = new float[b * out];
            for (int n = 0; n < b; n++) {
                for (int o = 0; o < out; o++) {
                    double s = bias[o];
                    for (int i = 0; i < in; i++) {
                        s += x[n * in + i] * w[o * in + i];
                    }
                    y[n * out + o] = (float) s;
                }
            }
            assertClose(y, ex.output().toArray(), 1e-5);
            ex.outputGradient().write(dy);
            ex.backward(GradientMode.OVERWRITE);
            float[] dw = new float[out * in];
            float[] db = new float[out];
            float[] dx = new float[b * in];
            for (int n = 0; n < b; n++) {
                for (int o = 0; o < out; o++) {
                    db[o] += dy[n * out + o];
                    for (int i = 0; i < in; i++) {
                        dw[o * in + i] += dy[n * out + o] * x[n * in + i];
                        dx[n * in + i] += dy[n * out + o] * w[o * in + i];
                    }
                }
            }
            assertClose(dw, p.readGradient("fc", "weight"), 1e-5);
            assertClose(db, p.readGradient("fc", "bias"), 1e-5);
            assertClose(dx, ex.inputGradient("x").toArray(), 1e-5);
            ex.backward(GradientMode.ACCUMULATE);
            float[] dw2 = dw.clone();
            for (int i = 0; i < dw2.length; i++) {
                dw2[i] *= 2;
            }
            assertClose(dw2, p.readGradient("fc", "weight"), 1e-5);
        }
    }

    @Test
    void convReluPoolForward() {
        int b = 2, c = 3, h = 9, w = 9, oc = 4, k = 3;
        Graph g = Graph.builder().input("x", Shape.of(c, h, w))
                .then("conv", Conv2d.of(oc, k).stride(2).padding(1).dilation(2))
                .then("relu", new ReLU())
                .then("pool", MaxPool2d.of(2))
                .build();
        float[] x = random(b * c * h * w, 5);
        float[] wt = random(oc * c * k * k, 6);
        float[] bias = random(oc, 7);
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32);
             Plan plan = backend.plan(g, b, PlanOptions.forInference());
             Executor ex = plan.bind(p)) {
            p.write("conv", "weight", wt);
            p.write("conv", "bias", bias);
            ex.input().write(x);
            ex.forward(Pass.inference());
            Shape cs = g.node("conv").outputShape();
            int oh = cs.dim(1), ow = cs.dim(2);
            float[] conv = new float[b * oc * oh * ow];
            for (int n = 0; n < b; n++) {
                for (int o = 0; o < oc; o++) {
                    for (int y = 0; y < oh; y++) {
                        for (int z = 0; z < ow; z++) {
                            double s = bias[o];
                            for (int ci = 0; ci < c; ci++) {
                                for (int ky = 0; ky < k; ky++) {
                                    for (int kx = 0; kx < k; kx++) {
                                        int iy = y * 2 - 1 + ky * 2, ix = z * 2 - 1 + kx * 2;
                                        if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                            s += x[((n * c + ci) * h + iy) * w + ix] * wt[((o * c + ci) * k + ky) * k + kx];
                                        }
                                    }
                                }
                            }
                            conv[((n * oc + o) * oh + y) * ow + z] = (float) Math.max(0, s);
                        }
                    }
                }
            }
            Shape ps = g.output().outputShape();
            int ph = ps.dim(1), pw = ps.dim(2);
            float[] pool = new float[b * oc * ph * pw];
            for (int n = 0; n < b * oc; n++) {
                for (int y = 0; y < ph; y++) {
                    for (int z = 0; z < pw; z++) {
                        float m = Float.NEGATIVE_INFINITY;
                        for (int dy = 0; dy < 2; dy++) {
                            for (int dz = 0; dz < 2; dz++) {
                                m = Math.max(m, conv[(n * oh + y * 2 + dy) * ow + z * 2 + dz]);
                            }
                        }
                        pool[(n * ph + y) * pw + z] = m;
                    }
                }
            }
            assertClose(pool, ex.output().toArray(), 1e-5);
        }
    }

    @Test
    void batchNormTrainingUpdatesRunningStatistics() {
        int b = 4, c = 3, h = 2, w = 5;
        float mom = 0.3f, eps = 1e-3f;
        Graph g = Graph.builder().input("x", Shape.of(c, h, w)).then("bn", new BatchNorm(eps, mom)).build();
        float[] x = random(b * c * h * w, 11);
        float[] gamma = {0.5f, 1.5f, -1f};
        float[] beta = {0.1f, 0f, -0.2f};
        float[] rm = {0.2f, -0.1f, 0f};
        float[] rv = {1f, 2f, 0.5f};
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            p.write("bn", "gamma", gamma);
            p.write("bn", "beta", beta);
            p.write("bn", "runningMean", rm);
            p.write("bn", "runningVar", rv);
            ex.input().write(x);
            ex.forward(Pass.training(1, 0));
            float[] y = new float[x.length];
            float[] erm = new float[c];
            float[] erv = new float[c];
            int m = b * h * w;
            for (int ch = 0; ch < c; ch++) {
                double mean = 0;
                double var = 0;
                for (int n = 0; n < b; n++) {
                    for (int i = 0; i < h * w; i++) {
                        mean += x[(n * c + ch) * h * w + i];
                    }
                }
                mean /= m;
                for (int n = 0; n < b; n++) {
                    for (int i = 0; i < h * w; i++) {
                        double d = x[(n * c + ch) * h * w + i] - mean;
                        var += d * d;
                    }
                }
                var /= m;
                for (int n = 0; n < b; n++) {
                    for (int i = 0; i < h * w; i++) {
                        int k = (n * c + ch) * h * w + i;
                        y[k] = (float) (gamma[ch] * (x[k] - mean) / Math.sqrt(var + eps) + beta[ch]);
                    }
                }
                erm[ch] = (float) ((1 - mom) * rm[ch] + mom * mean);
                erv[ch] = (float) ((1 - mom) * rv[ch] + mom * var * m / (m - 1));
            }
            assertClose(y, ex.output().toArray(), 1e-5);
            assertClose(erm, p.read("bn", "runningMean"), 1e-6);
            assertClose(erv, p.read("bn", "runningVar"), 1e-6);
        }
    }

    @Test
    void dropoutKeepsExactlyTheMaskElementsScaled() {
        int b = 3, n = 40;
        float rate = 0.4f;
        Graph g = Graph.builder().input("x", Shape.of(n)).then("drop", new Dropout(rate)).build();
        float[] x = random(b * n, 12);
        long seed = 99, first = 17;
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining().withInputGradients());
             Executor ex = plan.bind(p)) {
            ex.input().write(x);
            ex.forward(Pass.training(seed, first));
            float[] y = ex.output().toArray();
            float[] dy = random(b * n, 13);
            ex.outputGradient().write(dy);
            ex.backward(GradientMode.OVERWRITE);
            float[] dx = ex.inputGradient("x").toArray();
            long key = DropoutMask.nodeKey(seed, "drop");
            for (int s = 0; s < b; s++) {
                for (int e = 0; e < n; e++) {
                    boolean keep = DropoutMask.keep(key, first + s, e, rate);
                    int i = s * n + e;
                    assertEquals(keep ? x[i] / (1 - rate) : 0f, y[i], 1e-6f, "output " + i);
                    assertEquals(keep ? dy[i] / (1 - rate) : 0f, dx[i], 1e-6f, "input gradient " + i);
                }
            }
            ex.forward(Pass.inference());
            assertArrayEquals(x, ex.output().toArray());
        }
    }
}
