package io.batchwise.layer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Shape;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class InitTest {

    private static double[] moments(Init init, Shape s, long seed) {
        float[] a = new float[s.sizeAsInt()];
        init.fill(s, a, new SplittableRandom(seed));
        double m = 0;
        double m2 = 0;
        double max = 0;
        for (float v : a) {
            m += v;
            m2 += (double) v * v;
            max = Math.max(max, Math.abs(v));
        }
        return new double[] {m / a.length, m2 / a.length, max};
    }

    @Test
    void heAndGlorotHaveTheirVariance() {
        Shape conv = Shape.of(64, 32, 3, 3); // fanIn 288, fanOut 576
        double[] hn = moments(Init.heNormal(), conv, 1);
        assertEquals(2.0 / 288, hn[1], 0.03 * 2.0 / 288);
        double[] hu = moments(Init.heUniform(), conv, 2);
        assertEquals(2.0 / 288, hu[1], 0.03 * 2.0 / 288); // U(-a, a) has variance a^2 / 3
        assertTrue(hu[2] <= Math.sqrt(6.0 / 288));
        double[] gn = moments(Init.glorotNormal(), conv, 3);
        assertEquals(2.0 / (288 + 576), gn[1], 0.03 * 2.0 / 864);
        double[] gu = moments(Init.glorotUniform(), conv, 4);
        assertEquals(2.0 / (288 + 576), gu[1], 0.03 * 2.0 / 864);
        for (double[] m : new double[][] {hn, hu, gn, gu}) {
            assertEquals(0, m[0], 0.05 * Math.sqrt(m[1]));
        }
    }

    @Test
    void seededAndConstant() {
        Shape s = Shape.of(10, 7);
        float[] a = new float[70];
        float[] b = new float[70];
        Init.heNormal().fill(s, a, new SplittableRandom(42));
        Init.heNormal().fill(s, b, new SplittableRandom(42));
        assertArrayEquals(a, b);
        Init.constant(0.5f).fill(s, a, null);
        assertEquals(0.5f, a[69]);
        Init.zeros().fill(s, a, null);
        assertEquals(0f, a[0]);
        assertEquals(7, Init.fanIn(s));
        assertEquals(10, Init.fanOut(s));
    }

    @Test
    void dropoutMaskKeepsTheRightShareAndIgnoresTheSplit() {
        long key = DropoutMask.nodeKey(123, "drop1");
        int kept = 0;
        int n = 200_000;
        for (int i = 0; i < n; i++) {
            if (DropoutMask.keep(key, i / 100, i % 100, 0.3f)) {
                kept++;
            }
        }
        assertEquals(0.7, kept / (double) n, 0.005);
        // Depends only on (seed, node, sample, element): another node or seed gives another mask.
        int same = 0;
        long other = DropoutMask.nodeKey(124, "drop1");
        for (int i = 0; i < 1000; i++) {
            if (DropoutMask.keep(key, 5, i, 0.5f) == DropoutMask.keep(other, 5, i, 0.5f)) {
                same++;
            }
        }
        assertTrue(same > 400 && same < 600, "masks of two seeds agree on " + same + " of 1000");
    }
}
