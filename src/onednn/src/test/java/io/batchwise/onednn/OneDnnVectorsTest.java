package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Tensor;
import io.batchwise.backend.VectorOps;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The oneDNN vector kernels against float64 arithmetic on random vectors, odd lengths included. */
class OneDnnVectorsTest {
    private final Backend backend = new OneDnnBackend();

    private Tensor random(int n, long seed) {
        Tensor t = backend.allocate(Shape.of(n), DataType.FLOAT32);
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        t.write(v);
        return t;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 1000, 1024, 1055, 70_001, 235_146}) // batched sum of squares from 1024, with a tail
    void axpbyAndSumOfSquaresMatchFloat64(int n) {
        VectorOps ops = backend.vectors();
        try (Tensor y = random(n, 1); Tensor x = random(n, 2)) {
            float[] y0 = y.toArray();
            float[] x0 = x.toArray();
            ops.axpby(y, -0.37, x, 0.9);
            float[] y1 = y.toArray();
            for (int i = 0; i < n; i++) {
                double want = -0.37 * x0[i] + 0.9 * y0[i];
                assertEquals(want, y1[i], 1e-6 * Math.max(1, Math.abs(want)), "element " + i);
            }
            ops.axpby(y, 0, y, 2.5); // in place: y = 2.5 y
            float[] y2 = y.toArray();
            double squares = 0;
            for (int i = 0; i < n; i++) {
                assertEquals(2.5 * y1[i], y2[i], 1e-6 * Math.max(1, Math.abs(y2[i])), "scaled element " + i);
                squares += (double) y2[i] * y2[i];
            }
            assertEquals(squares, ops.sumOfSquares(y), 1e-5 * squares);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 1000})
    void tensorsThatAreNotFlatGoToTheHostPath(int n) {
        VectorOps ops = backend.vectors();
        // A 2-d tensor is not a plain vector for the primitive: same results through the host path.
        try (Tensor y = backend.allocate(Shape.of(n, 2), DataType.FLOAT32); Tensor x = random(2 * n, 3)) {
            float[] x0 = x.toArray();
            y.write(x0);
            ops.axpby(y, 1, x, 1); // y = 2 x
            float[] y1 = y.toArray();
            double squares = 0;
            for (int i = 0; i < 2 * n; i++) {
                assertEquals(2 * x0[i], y1[i], 1e-6 * Math.max(1, Math.abs(y1[i])));
                squares += (double) y1[i] * y1[i];
            }
            assertEquals(squares, ops.sumOfSquares(y), 1e-6 * squares);
        }
    }

    /** The flushed update decays a value toward zero without ever storing a subnormal, on oneDNN and the host alike. */
    @ParameterizedTest
    @ValueSource(ints = {5, 70_001})
    void flushedAxpbyNeverLeavesSubnormals(int n) {
        float[] start = new float[n];
        float[] grad = new float[n];
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < n; i++) {
            start[i] = switch (i % 5) {
                case 0 -> Float.MIN_VALUE;  // subnormal already
                case 1 -> 1e-30f;            // decays below the normal range within a few hundred steps
                case 2 -> -3e-38f;
                default -> (float) r.nextGaussian();
            };
            grad[i] = i % 5 < 3 ? 0 : (float) r.nextGaussian() * 1e-3f;
        }
        for (VectorOps ops : new VectorOps[] {backend.vectors(), VectorOps.host()}) {
            try (Tensor y = backend.allocate(Shape.of(n), DataType.FLOAT32); Tensor g = backend.allocate(Shape.of(n), DataType.FLOAT32)) {
                y.write(start);
                g.write(grad);
                float[] want = start.clone();
                for (int step = 0; step < 700; step++) {
                    ops.axpbyFlushed(y, 1, g, 0.9); // a momentum buffer: buf = 0.9 buf + g
                    for (int i = 0; i < n; i++) {
                        want[i] = (float) (grad[i] + 0.9 * want[i]);
                    }
                }
                float[] got = y.toArray();
                for (int i = 0; i < n; i++) {
                    assertEquals(true, got[i] == 0 || Math.abs(got[i]) >= Float.MIN_NORMAL, ops + ": subnormal " + got[i] + " at " + i);
                    if (Math.abs(want[i]) >= 1e-20) {
                        assertEquals(want[i], got[i], 1e-5 * Math.abs(want[i]), ops + ": element " + i);
                    } else {
                        assertEquals(want[i], got[i], 1e-20, ops + ": tiny element " + i);
                    }
                }
            }
        }
    }
}
