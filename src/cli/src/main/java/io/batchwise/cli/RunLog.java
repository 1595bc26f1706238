package io.batchwise.cli;

import io.batchwise.loss.LossResult;
import io.batchwise.train.TrainingListener;
import io.batchwise.train.EpochMetrics;
import io.batchwise.train.StepMetrics;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * The run's metrics, written as they come (and a bounded sample of the steps kept for the plot):
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

    /**
     * Rows kept for the plot: every {@code stride}-th step. When {@link #PLOT_ROWS} are kept, every other one
     * is dropped and the stride doubles, so a run of any length holds between PLOT_ROWS / 2 and PLOT_ROWS rows
     * (a 10^6-step run would otherwise hold 10^6 rows, about 100 MB of heap).
     */
    static final int PLOT_ROWS = 20_000;
    private final List<Step> steps = new ArrayList<>();
    private long stepRows;
    private long stride = 1;
    private Step lastStep;
    /** Training loss and accuracy per epoch (from 1), summed over its rows in the trainer's order. */
    private final Map<Integer, LossResult> trainByEpoch = new HashMap<>();
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
     * nothing; otherwise starts them afresh. The rows are streamed, never held whole.
     */
    RunLog(Path out, long resumeStep, PrintWriter warn) throws IOException {
        metricsFile = out.resolve("metrics.csv");
        epochsFile = out.resolve("epochs.csv");
        rewrite(metricsFile, METRICS_HEADER, resumeStep, warn, Step::parse, Step::step, Step::csv, this::keep);
        rewrite(epochsFile, EPOCHS_HEADER, resumeStep, warn, Epoch::parse, Epoch::step, Epoch::csv, epochs::add);
        this.elapsedOffset = lastStep == null ? 0 : lastStep.elapsedSec();
        this.metrics = Files.newBufferedWriter(metricsFile, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        this.epochsOut = Files.newBufferedWriter(epochsFile, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /** Counts a step row into its epoch's training figures and keeps it for the plot if the stride says so. */
    private void keep(Step s) {
        trainByEpoch.merge(s.epoch(), new LossResult(s.loss() * s.batch(), s.batch(), s.batch(), Math.round(s.accuracy() * s.batch())),
                LossResult::plus);
        lastStep = s;
        if (stepRows++ % stride == 0) {
            steps.add(s);
            if (steps.size() == PLOT_ROWS) {
                for (int i = 0; i < PLOT_ROWS / 2; i++) {
                    steps.set(i, steps.get(2 * i));
                }
                steps.subList(PLOT_ROWS / 2, PLOT_ROWS).clear();
                stride *= 2;
            }
        }
    }

    /**
     * Rewrites {@code file} as {@code header} and its rows up to {@code resumeStep} (none when it is negative),
     * each handed to {@code sink}, through a temporary file, a sync and a rename. Complete lines only: a run
     * killed mid-write leaves a last line without its newline (or, after a power cut, NUL bytes), which is
     * dropped with one warning naming its size and offset. A damaged row before it is refused, the file left as it was.
     */
    private static <T> void rewrite(Path file, String header, long resumeStep, PrintWriter warn,
                                    Function<String, T> parser, ToLongFunction<T> stepOf, Function<T, String> csv,
                                    Consumer<T> sink) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
             BufferedWriter w = new BufferedWriter(Channels.newWriter(ch, StandardCharsets.UTF_8))) {
            w.write(header);
            w.newLine();
            if (resumeStep >= 0 && Files.isRegularFile(file)) {
                long complete = completeBytes(file);
                long torn = Files.size(file) - complete;
                if (torn > 0) {
                    warn.printf("warning     %s: dropped a torn last row of %d bytes at offset %d (the run was stopped while writing it)%n",
                            file, torn, complete);
                    warn.flush();
                }
                try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    long read = 0;
                    boolean first = true;
                    for (String line; read < complete && (line = r.readLine()) != null; first = false) {
                        read += line.getBytes(StandardCharsets.UTF_8).length + 1;
                        if (first || line.isBlank()) {
                            continue; // the header
                        }
                        T row = parse(file, line, parser);
                        if (stepOf.applyAsLong(row) <= resumeStep) {
                            w.write(csv.apply(row));
                            w.newLine();
                            sink.accept(row);
                        }
                    }
                }
            }
            w.flush();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        AtomicFiles.move(tmp, file);
    }

    /** The length of {@code file} up to and including its last newline. */
    private static long completeBytes(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(8192);
            for (long end = ch.size(); end > 0; ) {
                long start = Math.max(0, end - buf.capacity());
                buf.clear().limit((int) (end - start));
                while (buf.hasRemaining() && ch.read(buf, start + buf.position()) >= 0) {
                    // read the whole window
                }
                for (int i = (int) (end - start) - 1; i >= 0; i--) {
                    if (buf.get(i) == '\n') {
                        return start + i + 1;
                    }
                }
                end = start;
            }
            return 0;
        }
    }

    private static <T> T parse(Path file, String line, Function<String, T> parser) throws IOException {
        try {
            return parser.apply(line);
        } catch (RuntimeException e) {
            throw new IOException(file + ": cannot read the row '" + (line.length() > 80 ? line.substring(0, 80) + "..." : line)
                    + "' (" + e.getMessage() + "); move the file away to resume without its rows");
        }
    }

    @Override
    public void onStep(StepMetrics m) {
        Step s = new Step(m.epoch() + 1, m.step(), m.samples(), m.loss(), m.accuracy(), m.samplesPerSec(), m.learningRate(),
                m.gradientNorm(), m.batch(), m.microBatches(), elapsed(), m.noiseScale());
        keep(s);
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
        LossResult train = trainByEpoch.getOrDefault(epoch, LossResult.ZERO);
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

    /**
     * The rows kept for the plot, in order: every step while fewer than {@link #PLOT_ROWS}, then an evenly
     * strided subset, always ending with the last step.
     */
    List<Step> steps() {
        if (lastStep == null || steps.get(steps.size() - 1) == lastStep) {
            return List.copyOf(steps);
        }
        List<Step> all = new ArrayList<>(steps);
        all.add(lastStep);
        return all;
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
