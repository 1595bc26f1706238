package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The growth rule alone; AdaptiveBatchTrainingTest (src/cli) runs it inside a trainer. */
class AdaptiveBatchTest {
    private final AdaptiveBatch rule = AdaptiveBatch.upTo(4096);

    @Test
    void growsToMultiplesOfTheMicroBatchAtMostTwofold() {
        // B_simple 900, micro-batch 64: from 256 at most 512; from 512 to 896 (the multiple of 64 below 900).
        assertEquals(512, rule.next(256, 64, 900, 4096));
        assertEquals(896, rule.next(512, 64, 900, 4096));
        // at 896 the next multiple below 900 is 896 itself: no change
        assertEquals(896, rule.next(896, 64, 900, 4096));
    }

    /** Below one micro-batch only doublings: each change needs at most one new plan (the halves are the old batch). */
    @Test
    void belowOneMicroBatchItDoubles() {
        assertEquals(32, rule.next(32, 64, 50.7, 4096));
        assertEquals(64, rule.next(32, 64, 70, 4096));
        assertEquals(64, rule.next(32, 4096, 100, 4096));
        assertEquals(96, rule.next(48, 4096, 100, 4096));
        assertEquals(3000, rule.next(3000, 4096, 3900, 4096)); // not twice, and below the micro-batch
        assertEquals(4096, rule.next(3000, 4096, 5000, 4096)); // reaches one micro-batch
    }

    @Test
    void smallGainsAndUnmeasuredOrSmallerNoiseKeepTheBatch() {
        assertEquals(512, rule.next(512, 64, 600, 4096)); // 576 < 1.25 x 512
        assertEquals(512, rule.next(512, 64, Double.NaN, 4096));
        assertEquals(512, rule.next(512, 64, 100, 4096)); // never shrinks
        assertEquals(512, rule.next(512, 64, -30, 4096));
    }

    @Test
    void infiniteNoiseDoublesAndTheCapIsReachedExactly() {
        assertEquals(1024, rule.next(512, 64, Double.POSITIVE_INFINITY, 4096));
        assertEquals(1000, rule.next(900, 64, 5000, 1000)); // the cap, although 1000 is no multiple of 64 and < 1.25 x 900
        assertEquals(1000, rule.next(1000, 64, 5000, 1000));
    }

    /** Whatever the measurements, the batch never falls and never passes the cap. */
    @Test
    void monotoneAndCappedUnderRandomMeasurements() {
        SplittableRandom r = new SplittableRandom(5);
        for (int run = 0; run < 200; run++) {
            int micro = 1 + r.nextInt(128);
            int limit = 1 + r.nextInt(5000);
            int b = 1 + r.nextInt(limit);
            for (int i = 0; i < 50; i++) {
                double noise = r.nextInt(10) == 0 ? Double.NaN : r.nextDouble(-100, 8000);
                int next = rule.next(b, micro, noise, limit);
                assertTrue(next >= b && next <= Math.max(b, limit), b + " -> " + next + " (limit " + limit + ")");
                assertTrue(next <= 2 * b, "at most doubles: " + b + " -> " + next);
                b = next;
            }
        }
    }

    @Test
    void refusesBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new AdaptiveBatch(0, 50, 1.25));
        assertThrows(IllegalArgumentException.class, () -> new AdaptiveBatch(10, 0, 1.25));
        assertThrows(IllegalArgumentException.class, () -> new AdaptiveBatch(10, 50, 1.0));
    }
}
