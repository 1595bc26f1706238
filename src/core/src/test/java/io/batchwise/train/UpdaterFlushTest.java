package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The adaptive rules never leave subnormal values in their state: a parameter whose gradient is exactly zero (a dead
 * ReLU unit) would otherwise decay its moments into float32's subnormal range for good, where every operation on them
 * takes a microcode assist (the MLP's AdamW update ran 10x slower). The flush leaves values from 2^-55 up untouched.
 */
class UpdaterFlushTest {
    static Stream<Optimizer> decaying() {
        return Stream.of(Optimizer.Adam.of(0.01), Optimizer.AdamW.of(0.01), new Optimizer.Adam(0.01, 0.9, 0.999, 1e-8, 0.1),
                Optimizer.RmsProp.of(0.01), new Optimizer.RmsProp(0.01, 0.99, 1e-8, 0, 0.9, true), Optimizer.Adadelta.of(1.0));
    }

    /** Gradients of 1e-3 for 300 steps, then exactly zero for 3,000: the state decays past float32's normal range. */
    @ParameterizedTest
    @MethodSource("decaying")
    void stateDecayingTowardZeroIsNeverSubnormal(Optimizer o) {
        int n = 4;
        float[] w = {0.5f, -0.25f, 0.125f, 1f};
        float[][] s = new float[o.stateSlots()][n];
        for (long t = 1; t <= 3300; t++) {
            float[] g = new float[n];
            if (t <= 300) {
                java.util.Arrays.fill(g, 1e-3f);
            }
            Updater.rule(o, w, g, s, n, t, o.lr());
            for (float[] slot : s) {
                for (float x : slot) {
                    assertTrue(x == 0 || Math.abs(x) >= Float.MIN_NORMAL, o + ": subnormal state " + x + " at step " + t);
                }
            }
        }
    }

    @Test
    void flushKeepsNormalSizedValuesExactlyAndZeroesOnlyTheTiniest() {
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 100_000; i++) {
            // Magnitudes from 2^-150 (subnormal, rounds to 0) to 2^10.
            float x = (float) ((r.nextBoolean() ? 1 : -1) * Math.pow(2, -150 + 160 * r.nextDouble()));
            float y = (x + Updater.FLUSH) - Updater.FLUSH;
            assertTrue(y == 0 || Math.abs(y) >= 0x1p-104f, x + " -> " + y);
            assertEquals(x, y, 0x1p-78, "moved by at most 2^-78");
            if (Math.abs(x) >= 0x1p-55f) {
                assertEquals(x, y, 0, "exact from 2^-55 up");
            }
        }
    }
}
