package io.batchwise.cli;

import io.batchwise.train.TrainingListener;
import io.batchwise.train.EpochMetrics;
import io.batchwise.train.StepMetrics;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The run's metrics, kept in memory for the plot and written as they come:
 * {@code metrics.csv}, one row per optimizer step, and {@code epochs.csv}, one row per epoch with
 * the test-set loss and accuracy, the smoothed gradient noise scale B_simple and the effective batch
 * at the epoch's end. Epochs are counted from 1 in both files. A resumed run keeps
 * the rows up to the checkpoint's step and drops any written after it.
 */
final class RunLog implements TrainingListener, AutoCloseable {
    static final String METRICS_HEADER =
            "epoch,step,samples,loss,accuracy,samples_per_sec,learning_rate,gradient_norm,batch,micro_batches,elapsed_sec,noise_scale";
    static final String EPOCHS_HEADER = "epoch,step,train_loss,train_accuracy,test_loss,test_accuracy,elapsed_sec,noise_scale,batch";

    /** One row of {@code metrics.csv}. */
    record Step(int epoch, long step, long samples, double loss, double accuracy, double samplesPerSec, double learningRate,
                double gradientNorm, int batch, int microBatches, double elapsedSec, double noiseScale) {
        String csv() {
            return epoch + "," + step + "," + samples + "," + loss + "," + accuracy + "," + fmt(samplesPerSec) + ","
                    + learningRate + "," + gradientNorm + "," + batch + "," + microBatches + "," + fmt(elapsedSec) + ","
                    + noiseScale;
        }

        static Step parse(String line) {
            String[] f = line.split(",");
            return new Step(Integer.parseInt(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3]),
                    Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7]),
                    Integer.parseInt(f[8]), Integer.parseInt(f[9]), Double.parseDouble(f[10]),
                    f.length > 11 ? Double.parseDouble(f[11]) : Double.NaN);
        }
    }

    /** One row of {@code epochs.csv}. */
    record Epoch(int epoch, long step, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy,
                 double elapsedSec, double noiseScale, int batch) {
        String csv() {
            return epoch + "," + step + "," + trainLoss + "," + trainAccuracy + "," + testLoss + "," + testAccuracy + ","
                    + fmt(elapsedSec) + "," + noiseScale + "," + batch;
        }

        static Epoch parse(String line) {
            String[] f = line.split(",");
            return new Epoch(Integer.parseInt(f[0]), Long.parseLong(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                    Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]),
                    f.length > 7 ? Double.parseDouble(f[7]) : Double.NaN, f.length > 8 ? Integer.parseInt(f[8]) : 0);
        }
    }

    private final List<Step> steps = new ArrayList<>();
    private final List<Epoch> epochs = new ArrayList<>();
    private final BufferedWriter metrics;
    private final BufferedWriter epochsOut;
    private final double elapsedOffset;
    private final long startNanos = System.nanoTime();
    private double lastTrainLoss = Double.NaN;
    private double lastTrainAccuracy = Double.NaN;
    private double lastNoiseScale = Double.NaN;
    private int lastBatch;

    /**
     * Opens the files in {@code out}. With {@code resumeStep >= 0}, keeps the rows of an earlier run
     * up to that step (and its elapsed time); otherwise starts them afresh.
     */
    RunLog(Path out, long resumeStep) throws IOException {
        Path m = out.resolve("metrics.csv");
        Path e = out.resolve("epochs.csv");
        if (resumeStep >= 0) {
            for (String line : existing(m)) {
                Step s = Step.parse(line);
                if (s.step() <= resumeStep) {
                    steps.add(s);
                }
            }
            for (String line : existing(e)) {
                Epoch ep = Epoch.parse(line);
                if (ep.step() <= resumeStep) {
                    epochs.add(ep);
                }
            }
        }
        this.elapsedOffset = steps.isEmpty() ? 0 : steps.get(steps.size() - 1).elapsedSec();
        this.metrics = Files.newBufferedWriter(m, StandardCharsets.UTF_8);
        this.epochsOut = Files.newBufferedWriter(e, StandardCharsets.UTF_8);
        metrics.write(METRICS_HEADER);
        metrics.newLine();
        for (Step s : steps) {
            metrics.write(s.csv());
            metrics.newLine();
        }
        epochsOut.write(EPOCHS_HEADER);
        epochsOut.newLine();
        for (Epoch ep : epochs) {
            epochsOut.write(ep.csv());
            epochsOut.newLine();
        }
        metrics.flush();
        epochsOut.flush();
    }

    private static List<String> existing(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        if (!lines.isEmpty()) {
            lines.remove(0); // header
        }
        lines.removeIf(String::isBlank);
        return lines;
    }

    @Override
    public void onStep(StepMetrics m) {
        Step s = new Step(m.epoch() + 1, m.step(), m.samples(), m.loss(), m.accuracy(), m.samplesPerSec(), m.learningRate(),
                m.gradientNorm(), m.batch(), m.microBatches(), elapsed(), m.noiseScale());
        steps.add(s);
        try {
            metrics.write(s.csv());
            metrics.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics.csv", e);
        }
    }

    @Override
    public void onEpochEnd(EpochMetrics m) {
        lastTrainLoss = m.loss();
        lastTrainAccuracy = m.accuracy();
        lastNoiseScale = m.noiseScale();
        lastBatch = m.batch();
    }

    /** Records a finished epoch (from 1) with its test-set results; returns the row. */
    Epoch epoch(int epoch, long step, double testLoss, double testAccuracy) throws IOException {
        Epoch ep = new Epoch(epoch, step, lastTrainLoss, lastTrainAccuracy, testLoss, testAccuracy, elapsed(), lastNoiseScale,
                lastBatch);
        epochs.add(ep);
        epochsOut.write(ep.csv());
        epochsOut.newLine();
        flush();
        return ep;
    }

    /** Seconds since the run started, the earlier part of a resumed run included. */
    double elapsed() {
        return elapsedOffset + (System.nanoTime() - startNanos) / 1e9;
    }

    List<Step> steps() {
        return steps;
    }

    List<Epoch> epochs() {
        return epochs;
    }

    void flush() throws IOException {
        metrics.flush();
        epochsOut.flush();
    }

    @Override
    public void close() throws IOException {
        try (metrics; epochsOut) {
            flush();
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
