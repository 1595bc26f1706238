package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The recommendation arithmetic; the probe itself runs in AdvisorTrainingTest (src/cli), which has backends. */
class AdvisorTest {

    @Test
    void roundsToTheMicroBatchAboveIt() {
        assertEquals(896, Advisor.recommend(900, 64, 60_000));
        assertEquals(960, Advisor.recommend(940, 64, 60_000));
        assertEquals(64, Advisor.recommend(64, 64, 60_000));
    }

    @Test
    void belowTheMicroBatchRoundsToEightsNotUpToTheMemoryMaximum() {
        assertEquals(416, Advisor.recommend(412.3, 4096, 60_000));
        assertEquals(8, Advisor.recommend(9, 4096, 60_000));
        assertEquals(5, Advisor.recommend(4.6, 4096, 60_000));
        assertEquals(1, Advisor.recommend(0.2, 4096, 60_000));
    }

    @Test
    void cappedAtTheTrainingSetAndZeroWhenUnbounded() {
        assertEquals(1000, Advisor.recommend(5000, 64, 1000));
        assertEquals(1000, Advisor.recommend(995, 64, 1000)); // 15.55 rounds to 16 x 64 = 1024 > 1000
        assertEquals(960, Advisor.recommend(990, 64, 1000)); // 15.47 rounds to 15
        assertEquals(0, Advisor.recommend(Double.NaN, 64, 1000));
        assertEquals(0, Advisor.recommend(Double.POSITIVE_INFINITY, 64, 1000));
        assertEquals(0, Advisor.recommend(-3, 64, 1000));
    }

    @Test
    void numbersAreReadable() {
        assertEquals("0.003", Advisor.fmt(0.003));
        assertEquals("412.3", Advisor.fmt(412.3456));
        assertEquals("1.235e+06", Advisor.fmt(1234567));
    }
}
