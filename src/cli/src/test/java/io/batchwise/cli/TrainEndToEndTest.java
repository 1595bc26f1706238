package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code batchwise train} on the real Fashion-MNIST, through the command object itself. Needs the
 * data (skipped without it, a failure under CI). Runs on oneDNN when it can, else the reference backend.
 */
class TrainEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void oneEpochOnTenThousandSamplesLearns() throws IOException {
        Path data = Cli.dataOrSkip();
        Path out = tmp.resolve("mlp");
        Cli.Result r = Cli.run("train", "--model", "mlp", "--train-limit", "10000", "--epochs", "1", "--backend", Cli.fastBackend(),
                "--data", data.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.toString());

        // A trainer that does not learn stays near 0.1 (ten classes); one epoch on 10,000 samples gives about 0.8.
        double accuracy = (double) r.train().summary.get("test_accuracy");
        assertTrue(accuracy >= 0.75, "test accuracy " + accuracy + "\n" + r);

        // What the run shows.
        assertTrue(r.out().contains("backend     " + Cli.fastBackend()), r.out());
        assertTrue(r.out().contains("predicted peak") && r.out().contains("accumulation steps 1"), r.out());
        assertTrue(r.out().contains("test        accuracy") && r.out().contains("samples/s") && r.out().contains("measured peak"),
                r.out());
        assertTrue(r.err().contains("train 100%") && r.err().contains("samples/s"), "progress bar:\n" + r.err());
        assertTrue(!r.err().contains("\r"), "no carriage returns when standard error is not a terminal");

        // What it writes.
        List<String> rows = Files.readAllLines(out.resolve("metrics.csv"));
        List<String> header = Arrays.asList(rows.get(0).split(","));
        assertTrue(header.containsAll(List.of("epoch", "step", "samples", "loss", "accuracy", "samples_per_sec")), rows.get(0));
        assertEquals(1 + 313, rows.size(), "one row per optimizer step: ceil(10000 / 32) = 313");
        String[] last = rows.get(313).split(",");
        assertEquals("313", last[header.indexOf("step")]);
        assertEquals("10000", last[header.indexOf("samples")]);

        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        for (String key : new String[] {"backend", "micro_batch", "accumulation_steps", "effective_batch", "predicted_peak_bytes",
                "measured_peak_bytes", "test_accuracy", "train_seconds", "samples_per_sec"}) {
            assertTrue(summary.has(key), "summary.json lacks " + key + ": " + summary);
        }
        assertEquals(32, summary.get("effective_batch").asInt());
        assertEquals(32, summary.get("micro_batch").asInt());
        assertEquals(1, summary.get("accumulation_steps").asInt());
        assertTrue(summary.get("measured_peak_bytes").asLong() > 0);
        assertTrue(summary.get("predicted_peak_bytes").asLong() > 0);
        assertEquals(accuracy, summary.get("test_accuracy").asDouble());

        assertTrue(Files.readString(out.resolve("plan.txt")).contains("predicted peak"));
        byte[] png = Files.readAllBytes(out.resolve(TrainCommand.PLOT_FILE));
        assertTrue(png.length > 10_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG image");
        assertTrue(Files.size(out.resolve(TrainCommand.CHECKPOINT_FILE)) > 235_146 * 4, "the checkpoint holds the weights");
        List<String> epochs = Files.readAllLines(out.resolve("epochs.csv"));
        assertEquals(2, epochs.size(), epochs.toString());
    }

    /** Losses per step of {@code train --steps 20 --batch 256 --micro-batch b}, MLP, seed 3. */
    private List<Double> losses(String name, String microBatch, String... more) throws IOException {
        Path data = Cli.dataOrSkip();
        Path out = tmp.resolve(name);
        List<String> args = new ArrayList<>(List.of("train", "--model", "mlp", "--steps", "20", "--batch", "256", "--micro-batch",
                microBatch, "--seed", "3", "--train-limit", "6000", "--backend", Cli.fastBackend(), "--data", data.toString(),
                "--out", out.toString()));
        args.addAll(List.of(more));
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        List<String> rows = Files.readAllLines(out.resolve("metrics.csv"));
        int col = Arrays.asList(rows.get(0).split(",")).indexOf("loss");
        List<Double> losses = new ArrayList<>();
        for (String row : rows.subList(1, rows.size())) {
            losses.add(Double.parseDouble(row.split(",")[col]));
        }
        return losses;
    }

    @Test
    void microBatchesGiveTheSameLossAtEveryStep() throws IOException {
        List<Double> whole = losses("whole", "256");
        List<Double> split = losses("split", "64");
        assertEquals(20, whole.size());
        assertEquals(20, split.size());
        for (int i = 0; i < 20; i++) {
            double rel = Math.abs(whole.get(i) - split.get(i)) / Math.abs(whole.get(i));
            assertTrue(rel <= 1e-4, "step " + (i + 1) + ": loss " + whole.get(i) + " with micro-batch 256, " + split.get(i)
                    + " with 4 x 64 (relative difference " + rel + ")");
        }
        assertTrue(whole.get(19) < whole.get(0) * 0.6, "the loss falls: " + whole);
        // With 4 micro-batches per step the gradient noise scale is measured; with one it cannot be.
        List<String> rows = Files.readAllLines(tmp.resolve("split").resolve("metrics.csv"));
        int col = Arrays.asList(rows.get(0).split(",")).indexOf("noise_scale");
        double noise = Double.parseDouble(rows.get(20).split(",")[col]);
        assertTrue(Double.isFinite(noise) && noise > 0, "noise scale " + noise);
        List<String> wholeRows = Files.readAllLines(tmp.resolve("whole").resolve("metrics.csv"));
        assertTrue(Double.isNaN(Double.parseDouble(wholeRows.get(20).split(",")[col])));
        JsonNode s = new ObjectMapper().readTree(tmp.resolve("split").resolve("summary.json").toFile());
        assertEquals(4, s.get("accumulation_steps").asInt());
        assertEquals(256, s.get("effective_batch").asInt());
    }

    @Test
    void resumeContinuesWhereTheCheckpointStopped() throws IOException {
        Path data = Cli.dataOrSkip();
        String[] common = {"train", "--model", "mlp", "--batch", "128", "--seed", "5", "--train-limit", "2560", "--epochs", "2",
                "--schedule", "constant", "--backend", Cli.fastBackend(), "--data", data.toString()};
        // straight through: 2 epochs of 20 steps
        Cli.Result straight = Cli.run(concat(common, "--out", tmp.resolve("straight").toString()));
        assertEquals(0, straight.code(), straight.toString());
        // stopped mid-epoch at step 13, then resumed to the end
        Path out = tmp.resolve("resumed");
        Cli.Result first = Cli.run(concat(common, "--steps", "13", "--out", out.toString()));
        assertEquals(0, first.code(), first.toString());
        Cli.Result second = Cli.run(concat(common, "--resume", "--out", out.toString()));
        assertEquals(0, second.code(), second.toString());
        assertTrue(second.out().contains("resumed") && second.out().contains("step 13"), second.out());

        List<String> a = column(tmp.resolve("straight").resolve("metrics.csv"), "loss");
        List<String> b = column(out.resolve("metrics.csv"), "loss");
        assertEquals(40, a.size());
        assertEquals(a, b, "a resumed run repeats the straight run's losses bit for bit");
        assertEquals(straight.train().summary.get("test_accuracy"), second.train().summary.get("test_accuracy"));
    }

    private static List<String> column(Path csv, String name) throws IOException {
        List<String> rows = Files.readAllLines(csv);
        int col = Arrays.asList(rows.get(0).split(",")).indexOf(name);
        List<String> v = new ArrayList<>();
        for (String row : rows.subList(1, rows.size())) {
            v.add(row.split(",")[col]);
        }
        return v;
    }

    private static String[] concat(String[] a, String... b) {
        String[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
