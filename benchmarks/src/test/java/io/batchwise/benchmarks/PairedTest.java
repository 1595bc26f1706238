package io.batchwise.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The paired harness times what it is given, rotates the order, and reports ratios the right way round. */
class PairedTest {
    /** Spins for {@code ns} nanoseconds: a step of known length that does not depend on the scheduler's sleep. */
    private static Runnable spin(long ns) {
        return () -> {
            long end = System.nanoTime() + ns;
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
        };
    }

    @Test
    void ratiosOfKnownStepTimes() {
        List<Paired.Side> sides = List.of(new Paired.Side("fast", spin(200_000)), new Paired.Side("slow", spin(600_000)));
        List<Paired.Ratio> ratios = List.of(new Paired.Ratio("speed fast/slow", 0, 1, true),
                new Paired.Ratio("time fast/slow", 0, 1, false));
        Paired.Result r = Paired.measure(sides, ratios, 5, 10, 0.05);
        assertEquals(0.2, r.medianMs()[0], 0.05, "fast side's ms per step");
        assertEquals(0.6, r.medianMs()[1], 0.1, "slow side's ms per step");
        double speed = Paired.quantile(r.ratios()[0].clone(), 0.5);
        double time = Paired.quantile(r.ratios()[1].clone(), 0.5);
        assertEquals(3.0, speed, 0.5, "the fast side runs about 3x the steps per second");
        assertEquals(1 / 3.0, time, 0.06, "and takes about a third of the time");
        assertEquals(5, r.ratios()[0].length, "one ratio per round");
    }

    @Test
    void everyRoundTimesEverySideStartingOneLater() {
        List<String> calls = new ArrayList<>();
        List<Paired.Side> sides = new ArrayList<>();
        for (String name : List.of("a", "b", "c")) {
            sides.add(new Paired.Side(name, () -> {
                calls.add(name);
                spin(1_000_000).run(); // 1 ms: with blockMs = 1, one step per block
            }));
        }
        Paired.measure(sides, List.of(), 3, 1, 0.0001);
        // The warm-up runs each side once (a chunk of 0.1 us is one step); then 3 rounds of one step per side.
        assertEquals(List.of("a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"), calls);
    }

    @Test
    void quantiles() {
        assertEquals(2.5, Paired.quantile(new double[] {4, 1, 3, 2}, 0.5), 1e-12);
        assertEquals(1.75, Paired.quantile(new double[] {4, 1, 3, 2}, 0.25), 1e-12);
        assertEquals(7, Paired.quantile(new double[] {7}, 0.75), 1e-12);
    }

    @Test
    void stepSuiteRunsBothSidesOfARealModel() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Paired.run(new String[] {"step", "rounds=2", "blockMs=2", "warmupS=0.01", "models=mlp", "batches=3"},
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        String row = null;
        for (String l : lines) {
            if (l.startsWith("mlp")) {
                row = l;
            }
        }
        assertTrue(row != null, "a row for the MLP:\n" + String.join("\n", lines));
        String[] cells = row.trim().split("\\s+");
        assertEquals("3", cells[1], "the batch");
        for (int i = 2; i <= 5; i++) {
            assertTrue(Double.parseDouble(cells[i].replace(",", "")) > 0, "samples/s of side " + (i - 2) + ": " + row);
        }
    }

    @Test
    void optimizerSuiteTimesEveryOptimizer() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Paired.run(new String[] {"optimizers", "rounds=1", "blockMs=2", "warmupS=0.01", "models=mlp", "batches=2"},
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        String row = out.lines().filter(l -> l.startsWith("mlp")).findFirst().orElseThrow(() -> new AssertionError(out));
        assertEquals(8, row.split("x\\)", -1).length - 1, "eight optimizers: " + row);
        assertTrue(row.contains("(1.00x)"), "plain SGD against itself: " + row);
    }

    @Test
    void unknownOptionsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Paired.run(new String[] {"step", "round=3"}, System.out));
        assertTrue(e.getMessage().contains("round=3") && e.getMessage().contains("rounds"), e.getMessage());
    }
}
