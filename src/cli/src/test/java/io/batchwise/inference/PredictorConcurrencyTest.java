package io.batchwise.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.batchwise.backend.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * One predictor, several threads at once: every request's logits equal, bit for bit, those of the same request run
 * alone; requests of many sizes (1, below, at and above the batch) so that passes of different sizes interleave.
 */
class PredictorConcurrencyTest {
    private static final int THREADS = 4;
    private static final int REQUESTS = 6;

    @Test
    void concurrentRequestsEqualSequentialOnes() throws Exception {
        for (Backend b : Fixtures.backends()) {
            try (Model m = Fixtures.trained(b); Predictor p = m.predictor(ModelRoundTripTest.options())) {
                Random r = new Random(3);
                int[] sizes = new int[THREADS * REQUESTS];
                List<float[]> inputs = new ArrayList<>();
                List<float[]> expected = new ArrayList<>();
                for (int i = 0; i < sizes.length; i++) {
                    sizes[i] = 1 + r.nextInt(40);
                    inputs.add(Fixtures.inputs(sizes[i], 100 + i));
                    expected.add(p.predict(inputs.get(i), sizes[i]));
                }
                ExecutorService pool = Executors.newFixedThreadPool(THREADS);
                try {
                    CountDownLatch start = new CountDownLatch(1);
                    List<Future<List<float[]>>> results = new ArrayList<>();
                    for (int t = 0; t < THREADS; t++) {
                        int first = t * REQUESTS;
                        results.add(pool.submit(() -> {
                            start.await();
                            List<float[]> out = new ArrayList<>();
                            for (int i = first; i < first + REQUESTS; i++) {
                                out.add(p.predict(inputs.get(i), sizes[i]));
                            }
                            return out;
                        }));
                    }
                    start.countDown();
                    for (int t = 0; t < THREADS; t++) {
                        List<float[]> out = results.get(t).get();
                        for (int j = 0; j < REQUESTS; j++) {
                            int i = t * REQUESTS + j;
                            assertArrayEquals(ModelRoundTripTest.bits(expected.get(i)), ModelRoundTripTest.bits(out.get(j)),
                                    b.name() + ": request " + i + " of " + sizes[i] + " samples");
                        }
                    }
                } finally {
                    pool.shutdownNow();
                }
                assertThrows(IllegalArgumentException.class, () -> p.predict(new float[5], 1));
            }
        }
    }

    @Test
    void aClosedPredictorRefusesAndFreesItsMemory() {
        Backend ref = Fixtures.backends().get(0);
        try (Model m = Fixtures.trained(ref)) {
            long before = ref.memory().liveBytes();
            Predictor p = m.predictor(ModelRoundTripTest.options());
            p.predict(Fixtures.inputs(3, 1), 3); // binds a second, smaller pass
            p.close();
            p.close();
            assertEquals(before, ref.memory().liveBytes(), "the predictor's arena and executors are freed");
            assertThrows(IllegalStateException.class, () -> p.predict(Fixtures.inputs(1, 1), 1));
        }
    }

    @Test
    void closingTheModelClosesItsPredictorsFirst() {
        Backend ref = Fixtures.backends().get(0);
        long before = ref.memory().liveBytes();
        Model m = Fixtures.trained(ref);
        Predictor p = m.predictor(ModelRoundTripTest.options());
        m.close();
        assertEquals(before, ref.memory().liveBytes(), "parameters, arena and executors freed");
        assertThrows(IllegalStateException.class, () -> p.predict(Fixtures.inputs(1, 1), 1));
    }

    @Test
    void passSizesArePowersOfTwoUpToTheBatch() {
        assertEquals(1, Predictor.passSize(1, 16));
        assertEquals(4, Predictor.passSize(3, 16));
        assertEquals(8, Predictor.passSize(8, 16));
        assertEquals(16, Predictor.passSize(9, 16));
        assertEquals(12, Predictor.passSize(9, 12));
        assertEquals(12, Predictor.passSize(12, 12));
    }
}
