package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.train.StepMetrics;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** metrics.csv and epochs.csv on resume: rows kept up to the checkpoint, a torn last row dropped, nothing else lost. */
class RunLogTest {
    @TempDir
    Path tmp;

    private static final String ROW1 = "1,1,32,2.3,0.1,100.000,0.001,1.5,32,1,0.010,NaN";
    private static final String ROW2 = "1,2,64,2.2,0.2,100.000,0.001,1.4,32,1,0.020,NaN";
    private static final String ROW3 = "1,3,96,2.1,0.3,100.000,0.001,1.3,32,1,0.030,123.5";

    @Test
    void aRowCutAtAnyByteIsDroppedWithOneWarningAndTheRestKept() throws IOException {
        String complete = RunLog.METRICS_HEADER + "\n" + ROW1 + "\n" + ROW2 + "\n";
        // Every cut of the third row, from its first byte to all but its newline: e.g. "...,123" parses as a number.
        for (int cut = 1; cut <= ROW3.length(); cut++) {
            Path out = Files.createDirectories(tmp.resolve("cut" + cut));
            Files.writeString(out.resolve("metrics.csv"), complete + ROW3.substring(0, cut));
            StringWriter warn = new StringWriter();
            try (RunLog log = new RunLog(out, 3, new PrintWriter(warn))) {
                assertEquals(List.of(1L, 2L), log.steps().stream().map(RunLog.Step::step).toList(), "cut at " + cut);
            }
            assertEquals(1, warn.toString().lines().count(), warn.toString());
            assertTrue(warn.toString().contains("metrics.csv: dropped a torn last row of " + cut + " bytes at offset "
                    + complete.length()), warn.toString());
            assertEquals(complete, Files.readString(out.resolve("metrics.csv")), "cut at " + cut);
            assertFalse(Files.exists(out.resolve("metrics.csv.tmp")));
        }
    }

    @Test
    void keepsRowsUpToTheCheckpointAndAppendsAfterThem() throws IOException {
        Files.writeString(tmp.resolve("metrics.csv"), RunLog.METRICS_HEADER + "\n" + ROW1 + "\n" + ROW2 + "\n" + ROW3 + "\n");
        StringWriter warn = new StringWriter();
        try (RunLog log = new RunLog(tmp, 2, new PrintWriter(warn))) {
            log.onStep(new StepMetrics(0, 3, 96, 32, 1, 2.0, 0.5, 0.001, 1.0, Double.NaN, 200.0));
        }
        assertEquals("", warn.toString());
        List<String> rows = Files.readAllLines(tmp.resolve("metrics.csv"), StandardCharsets.UTF_8);
        assertEquals(4, rows.size(), rows.toString());
        assertEquals(ROW2, rows.get(2));
        assertTrue(rows.get(3).startsWith("1,3,96,2.0,0.5,200.000,"), rows.get(3));
    }

    @Test
    void aDamagedRowBeforeTheLastIsRefusedNamingTheFile() throws IOException {
        Files.writeString(tmp.resolve("metrics.csv"), RunLog.METRICS_HEADER + "\n" + ROW1 + "\n1,2,garbage\n" + ROW3 + "\n");
        IOException e = assertThrows(IOException.class, () -> new RunLog(tmp, 3, new PrintWriter(new StringWriter())).close());
        assertTrue(e.getMessage().contains(tmp.resolve("metrics.csv").toString()) && e.getMessage().contains("1,2,garbage"),
                e.getMessage());
        // The file is left as it was.
        assertTrue(Files.readString(tmp.resolve("metrics.csv")).contains("garbage"));
    }

    @Test
    void aLongRunKeepsABoundedEvenSampleForThePlotAndExactEpochFigures() throws IOException {
        int n = 5 * RunLog.PLOT_ROWS + 7;
        double lossSum = 0;
        try (RunLog log = new RunLog(tmp, -1, new PrintWriter(new StringWriter()))) {
            for (int i = 1; i <= n; i++) {
                double loss = 1.0 / i;
                lossSum += loss * 32;
                log.onStep(new StepMetrics(0, i, 32L * i, 32, 1, loss, 0.5, 0.001, 1.0, Double.NaN, 100.0));
            }
            List<Long> kept = log.steps().stream().map(RunLog.Step::step).toList();
            assertTrue(kept.size() <= RunLog.PLOT_ROWS + 1 && kept.size() >= RunLog.PLOT_ROWS / 2, "kept " + kept.size());
            assertEquals(1L, kept.get(0));
            assertEquals((long) n, kept.get(kept.size() - 1), "the last step is always plotted");
            long stride = kept.get(1) - kept.get(0);
            for (int i = 1; i < kept.size() - 1; i++) {
                assertEquals(stride, kept.get(i) - kept.get(i - 1), "even spacing at " + i);
            }
            RunLog.Epoch ep = log.epoch(1, n, 0.3, 0.9);
            // The epoch's training loss covers every step, not only the plotted ones (summed in the same order).
            assertEquals(lossSum / (32.0 * n), ep.trainLoss(), 1e-12);
            assertEquals(0.5, ep.trainAccuracy(), 0);
        }
        assertEquals(n + 1, Files.readAllLines(tmp.resolve("metrics.csv")).size());
        // A resume streams the rows it keeps and counts them into the epoch as an uninterrupted run does.
        try (RunLog log = new RunLog(tmp, n - 3, new PrintWriter(new StringWriter()))) {
            assertEquals((long) (n - 3), log.steps().get(log.steps().size() - 1).step());
            assertEquals(n - 2, Files.readAllLines(tmp.resolve("metrics.csv")).size());
        }
    }

    @Test
    void fixedPointMatchesFormatter() {
        for (double v : new double[] {0, 0.0004, 0.0015, 1.2345, -1.2345, -0.0001, 12345.6789, 999.9996, 1e14, 3.14159e-5}) {
            assertEquals(String.format(java.util.Locale.ROOT, "%.3f", v), RunLog.fmt(v), "value " + v);
        }
    }
}
