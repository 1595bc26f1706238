package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.batchwise.train.Advisor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code batchwise advise}, {@code train --adaptive-batch} and {@code train --noise-scale} on the real
 * Fashion-MNIST (skipped without it, a failure under CI), on oneDNN when it can run, else the reference backend.
 */
class NoiseScaleEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void adviseProbesAndRecommends() {
        Path data = Cli.dataOrSkip();
        Cli.Result r = Cli.run("advise", "--model", "mlp", "--train-limit", "3000", "--probe-steps", "60", "--backend",
                Cli.fastBackend(), "--data", data.toString());
        assertEquals(0, r.code(), r.toString());
        Advisor.Result a = r.advise().result;
        assertEquals(60, a.probeSteps());
        assertEquals(60, a.measurements(), "every probe step measures (batch 32 split in two halves)");
        assertEquals(3000, a.memoryMicroBatch(), "the automatic budget holds the whole subset at once");
        assertTrue(a.noiseScale() > 1 && a.noiseScale() < 3000, "B_simple " + a.noiseScale());
        assertEquals(Advisor.recommend(a.noiseScale(), 3000, 3000), a.recommendedBatch());
        assertEquals(0.004 * a.recommendedBatch() / 32, a.learningRate(), 1e-12, "AdamW's default 0.004 at batch 32, scaled linearly");
        for (String s : new String[] {"micro-batch 3,000", "B_simple    ", "recommend   effective batch", "why", "linear scaling",
                "try         batchwise train --model mlp"}) {
            assertTrue(r.out().contains(s), s + " missing:\n" + r.out());
        }
    }

    private Cli.Result train(Path out, String... more) {
        Path data = Cli.dataOrSkip();
        List<String> args = new ArrayList<>(List.of("train", "--model", "mlp", "--train-limit", "3000", "--seed", "2",
                "--backend", Cli.fastBackend(), "--data", data.toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        return r;
    }

    private static List<String> column(Path csv, String name) throws IOException {
        List<String> rows = Files.readAllLines(csv);
        int col = Arrays.asList(rows.get(0).split(",")).indexOf(name);
        assertTrue(col >= 0, name + " not in " + rows.get(0));
        List<String> v = new ArrayList<>();
        for (String row : rows.subList(1, rows.size())) {
            v.add(row.split(",")[col]);
        }
        return v;
    }

    /** Batch 16 in passes of 64, growing up to 256: it grows, never past 256, and says so everywhere. */
    @Test
    void adaptiveBatchGrowsAndIsReported() throws IOException {
        Path out = tmp.resolve("adaptive");
        Cli.Result r = train(out, "--batch", "16", "--micro-batch", "64", "--adaptive-batch", "256", "--epochs", "2");
        assertTrue(r.out().contains("batch       effective batch 16 -> "), "a change is printed:\n" + r.out());
        assertTrue(r.out().contains("adaptive: from 16 up to 256"), r.out());

        List<Integer> batches = column(out.resolve("metrics.csv"), "batch").stream().map(Integer::parseInt).toList();
        int max = batches.stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertTrue(max > 16 && max <= 256, "grew, not past the cap: " + max);
        for (String v : column(out.resolve("metrics.csv"), "noise_scale")) {
            assertTrue(!v.equals("NaN"), "measured on every step");
        }
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(16, s.get("effective_batch").asInt());
        assertEquals(64, s.get("micro_batch").asInt());
        JsonNode changes = s.get("adaptive_batch").get("changes_this_run");
        assertTrue(changes.size() >= 1, s.toString());
        int from = 16;
        for (JsonNode c : changes) {
            assertEquals(from, c.get("from").asInt());
            assertTrue(c.get("to").asInt() > from && c.get("to").asInt() <= 256, c.toString());
            from = c.get("to").asInt();
        }
        assertEquals(from, s.get("final_effective_batch").asInt());
        assertEquals(2, s.get("noise_scale_per_epoch").size());
        assertTrue(s.get("noise_scale_per_epoch").get(1).get("noise_scale").asDouble() > 0, s.toString());
        assertEquals(from, s.get("noise_scale_per_epoch").get(1).get("batch").asInt());
        List<String> epochNoise = column(out.resolve("epochs.csv"), "noise_scale");
        assertEquals(2, epochNoise.size());
        assertTrue(Double.parseDouble(epochNoise.get(1)) > 0, epochNoise.toString());
        assertTrue(r.out().contains("B_simple"), "the epoch lines show B_simple:\n" + r.out());
        assertTrue(r.err().contains("B_simple") && r.err().contains("samples"), "the progress line:\n" + r.err());

        BufferedImage png = ImageIO.read(out.resolve(TrainCommand.PLOT_FILE).toFile());
        assertEquals(3 * 380, png.getHeight(), "loss, accuracy and noise-scale panels");
    }

    /** Stopped at step 70 (after the batch grew at step 50) and resumed: the straight run's losses, batches and B_simple. */
    @Test
    void adaptiveRunsResumeExactly() throws IOException {
        String[] common = {"--batch", "16", "--micro-batch", "64", "--adaptive-batch", "256", "--epochs", "1", "--schedule",
                "constant"};
        Path straight = tmp.resolve("straight");
        train(straight, common);
        Path resumed = tmp.resolve("resumed");
        train(resumed, concat(common, "--steps", "70"));
        Cli.Result second = train(resumed, concat(common, "--resume"));
        assertTrue(second.out().contains("resumed") && second.out().contains("step 70"), second.out());
        for (String col : new String[] {"loss", "batch", "noise_scale"}) {
            assertEquals(column(straight.resolve("metrics.csv"), col), column(resumed.resolve("metrics.csv"), col), col);
        }
        assertTrue(column(straight.resolve("metrics.csv"), "batch").subList(0, 70).stream().anyMatch(b -> !b.equals("16")),
                "the batch grew before the stop, so the checkpoint had to carry it");
    }

    /** --noise-scale measures single-pass steps by splitting them; the losses stay those of one pass. */
    @Test
    void noiseScaleOnSinglePassSteps() throws IOException {
        String[] common = {"--batch", "64", "--micro-batch", "64", "--steps", "20", "--schedule", "constant"};
        Path plain = tmp.resolve("plain");
        train(plain, common);
        Path measured = tmp.resolve("measured");
        Cli.Result r = train(measured, concat(common, "--noise-scale"));
        List<String> a = column(plain.resolve("metrics.csv"), "loss");
        List<String> b = column(measured.resolve("metrics.csv"), "loss");
        for (int i = 0; i < 20; i++) {
            double x = Double.parseDouble(a.get(i));
            double y = Double.parseDouble(b.get(i));
            assertTrue(Math.abs(x - y) <= 1e-4 * Math.abs(x), "step " + (i + 1) + ": " + x + " vs " + y);
        }
        assertEquals("NaN", column(plain.resolve("metrics.csv"), "noise_scale").get(19));
        assertTrue(Double.parseDouble(column(measured.resolve("metrics.csv"), "noise_scale").get(19)) > 0);
        assertEquals("2", column(measured.resolve("metrics.csv"), "micro_batches").get(19));
        assertTrue(r.out().contains("noise scale B_simple"), r.out());
        assertTrue(r.train().summary.get("noise_scale") instanceof Double, r.train().summary.toString());
    }

    private static String[] concat(String[] a, String... b) {
        String[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
