package io.batchwise.cli;

import io.batchwise.loss.LossResult;
import io.batchwise.train.TrainingListener;
import io.batchwise.train.EpochMetrics;
import io.batchwise.train.StepMetrics;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The run's metrics, kept in memory for the plot and written as they come:
 * {@code metrics.csv}, one row per optimizer step, and {@code epochs.csv}, one row per epoch with
 * the test-set loss and accuracy, the smoothed gradient noise scale B_simple and the effective batch
 * at the epoch's end. Epochs are counted from 1 in both files. A resumed run keeps
 * the rows up to the checkpoint's step and drops any written after it. Rows are buffered (a few KiB) and
 * forced to disk by {@link #sync()} before every checkpoint, so the rows a checkpoint covers are never lost.
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
    private final Path metricsFile;
    private final Path epochsFile;
    private final BufferedWriter metrics;
    private final BufferedWriter epochsOut;
    private final double elapsedOffset;
    private final long startNanos = System.nanoTime();
    private double lastNoiseScale = Double.NaN;
    private int lastBatch;

    /**
     * Opens the files in {@code out}. With {@code resumeStep >= 0}, keeps the rows of an earlier run
     * up to that step (and its elapsed time), drops a row that a kill cut short (one line on {@code warn}),
     * and rewrites the files through a temporary file and a rename, so a kill during the rewrite loses
     * nothing; otherwise starts them afresh.
     */
    RunLog(Path out, long resumeStep, PrintWriter warn) throws IOException {
        metricsFile = out.resolve("metrics.csv");
        epochsFile = out.resolve("epochs.csv");
        if (resumeStep >= 0) {
            for (String line : existing(metricsFile, warn)) {
                Step s = parse(metricsFile, line, Step::parse);
                if (s.step() <= resumeStep) {
                    steps.add(s);
                }
            }
            for (String line : existing(epochsFile, warn)) {
                Epoch ep = parse(epochsFile, line, Epoch::parse);
                if (ep.step() <= resumeStep) {
                    epochs.add(ep);
                }
            }
        }
        this.elapsedOffset = steps.isEmpty() ? 0 : steps.get(steps.size() - 1).elapsedSec();
        rewrite(metricsFile, METRICS_HEADER, steps, Step::csv);
        rewrite(epochsFile, EPOCHS_HEADER, epochs, Epoch::csv);
        this.metrics = Files.newBufferedWriter(metricsFile, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        this.epochsOut = Files.newBufferedWriter(epochsFile, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /**
     * The data rows of {@code file}: complete lines only. A run killed mid-write leaves a last line
     * without its newline (or, after a power cut, NUL bytes): that line is dropped with a warning.
     */
    private static List<String> existing(Path file, PrintWriter warn) throws IOException {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n') + 1; // complete lines end here
        String torn = text.substring(end);
        if (!torn.isEmpty()) {
            warn.printf("warning     %s: dropped a torn last row of %d bytes at offset %d (the run was stopped while writing it)%n",
                    file, torn.getBytes(StandardCharsets.UTF_8).length, text.substring(0, end).getBytes(StandardCharsets.UTF_8).length);
            warn.flush();
        }
        List<String> lines = new ArrayList<>(List.of(text.substring(0, end).split("\n")));
        if (!lines.isEmpty()) {
            lines.remove(0); // header
        }
        lines.removeIf(String::isBlank);
        return lines;
    }

    private static <T> T parse(Path file, String line, java.util.function.Function<String, T> parser) throws IOException {
        try {
            return parser.apply(line);
        } catch (RuntimeException e) {
            throw new IOException(file + ": cannot read the row '" + (line.length() > 80 ? line.substring(0, 80) + "..." : line)
                    + "' (" + e.getMessage() + "); move the file away to resume without its rows");
        }
    }

    /** Writes {@code header} and {@code rows} to a temporary file, forces it to disk and renames it over {@code file}. */
    private static <T> void rewrite(Path file, String header, List<T> rows, java.util.function.Function<T, String> csv)
            throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
             BufferedWriter w = new BufferedWriter(Channels.newWriter(ch, StandardCharsets.UTF_8))) {
            w.write(header);
            w.newLine();
            for (T r : rows) {
                w.write(csv.apply(r));
                w.newLine();
            }
            w.flush();
            ch.force(true);
        }
        AtomicFiles.move(tmp, file);
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
        lastNoiseScale = m.noiseScale();
        lastBatch = m.batch();
    }

    @Override
    public void beforeCheckpoint(long step) throws IOException {
        sync();
    }

    /**
     * Records a finished epoch (from 1) with its test-set results; returns the row. The epoch's training
     * loss and accuracy are taken from its rows in metrics.csv, those before a resume included, added in
     * the trainer's order, so a resumed run writes the same row as an uninterrupted one.
     */
    Epoch epoch(int epoch, long step, double testLoss, double testAccuracy) throws IOException {
        LossResult train = LossResult.ZERO;
        for (Step s : steps) {
            if (s.epoch() == epoch) {
                train = train.plus(new LossResult(s.loss() * s.batch(), s.batch(), s.batch(), Math.round(s.accuracy() * s.batch())));
            }
        }
        Epoch ep = new Epoch(epoch, step, train.mean(), train.accuracy(), testLoss, testAccuracy, elapsed(), lastNoiseScale,
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

    /**
     * Flushes both files and forces them to disk: called before a checkpoint is written, so the rows up to
     * the checkpoint's step survive whatever stops the run after it.
     */
    void sync() throws IOException {
        flush();
        for (Path f : List.of(metricsFile, epochsFile)) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
        }
    }

    @Override
    public void close() throws IOException {
        try (metrics; epochsOut) {
            flush();
        }
    }

    /** {@code v} with three decimals, as {@code %.3f} would print it (per step, so without java.util.Formatter). */
    static String fmt(double v) {
        if (!Double.isFinite(v) || Math.abs(v) >= 1e15) {
            return String.format(Locale.ROOT, "%.3f", v);
        }
        long m = Math.round(Math.abs(v) * 1000);
        String frac = Long.toString(1000 + m % 1000).substring(1);
        return (v < 0 ? "-" : "") + (m / 1000) + "." + frac;
    }
}
