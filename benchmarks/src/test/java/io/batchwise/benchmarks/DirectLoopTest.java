package io.batchwise.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.Backends;
import io.batchwise.backend.Parameters;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The direct oneDNN loop is a trustworthy baseline: from the same initial weights and batch it trains like
 * Batchwise's {@link Trainer} (oneDNN backend, softmax cross-entropy, plain SGD 0.01, no shuffling), its loss falls,
 * and none of its primitives runs a reference ({@code ref}) implementation.
 */
class DirectLoopTest {
    private static final int STEPS = 3;

    static Stream<Arguments> cases() {
        return Stream.of("mlp", "lenet").flatMap(model -> Stream.of(
                Arguments.of(model, 1, 1),    // batch 1
                Arguments.of(model, 5, 5),    // an odd batch
                Arguments.of(model, 12, 4))); // accumulation: 3 micro-batches of 4
    }

    @ParameterizedTest(name = "{0}, batch {1} in micro-batches of {2}")
    @MethodSource("cases")
    void trainsLikeBatchwise(String model, int batch, int micro) {
        InMemoryDataset data = Fixtures.images(batch, 3);
        int[] order = Fixtures.identity(batch);
        try (Trainer trainer = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), Optimizer.Sgd.plain(DirectLoop.LR),
                batch, micro);
             DirectLoop direct = Fixtures.direct(model, data, micro, batch / micro)) {
            assertEquals(List.of(), direct.referenceImplementations(), "primitives running oneDNN's reference implementation");
            Parameters p = trainer.parameters();
            List<String[]> names = direct.parameterNames();
            assertEquals(p.layout().slots().size(), names.size(), "parameter tensors");
            Map<String, float[]> initial = new HashMap<>();
            for (String[] n : names) {
                float[] w = p.read(n[0], n[1]);
                // The round trip through the direct loop's (possibly blocked) layout is exact.
                assertArrayEquals(w, direct.parameter(n[0], n[1]), n[0] + "." + n[1] + " initial");
                initial.put(n[0] + "." + n[1], w);
            }

            double firstLoss = Double.NaN;
            for (int s = 1; s <= STEPS; s++) {
                StepMetrics m = trainer.trainBatch(data, order, 0, batch);
                direct.step();
                if (micro == batch) { // lastLoss is the last micro-batch's
                    assertEquals(m.loss(), direct.lastLoss(), 1e-4 * m.loss(), "loss at step " + s);
                }
                if (s == 1) {
                    firstLoss = direct.lastLoss();
                }
            }
            assertTrue(direct.lastLoss() < firstLoss, "loss falls: " + firstLoss + " -> " + direct.lastLoss());

            for (String[] n : names) {
                String what = n[0] + "." + n[1];
                // The last step's gradient (mean over the effective batch), then the change of the weights over all steps.
                assertClose(what + " gradient", p.readGradient(n[0], n[1]), direct.gradient(n[0], n[1]), 1e-4);
                assertClose(what + " change over " + STEPS + " steps", minus(p.read(n[0], n[1]), initial.get(what)),
                        minus(direct.parameter(n[0], n[1]), initial.get(what)), 1e-3);
            }
        }
    }

    private static float[] minus(float[] a, float[] b) {
        float[] d = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    /** Every element within {@code rel} times the tensor's largest expected magnitude (elements may be 0). */
    private static void assertClose(String what, float[] expected, float[] actual, double rel) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        assertTrue(scale > 0, what + ": all zero");
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(expected[i] - actual[i]);
            assertTrue(diff <= rel * scale, what + " [" + i + "]: Batchwise " + expected[i] + ", direct " + actual[i]
                    + " (difference " + diff + ", allowed " + rel * scale + ")");
        }
    }
}
