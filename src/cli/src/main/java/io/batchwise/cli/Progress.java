package io.batchwise.cli;

import io.batchwise.train.StepMetrics;
import io.batchwise.train.TrainingListener;
import java.io.PrintWriter;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The live progress bar (me.tongfei progressbar) on standard error: epoch, step, loss, accuracy,
 * the gradient noise scale B_simple once measured, samples per second and time left. With an
 * adaptive batch the bar counts samples (the steps left depend on how the batch grows) and the line
 * shows the current batch. On a terminal it redraws one line; otherwise (a log file, a pipe, a test)
 * it prints a plain line at most every {@code lineIntervalMillis} and at the end, so logs are never
 * garbled by carriage returns.
 */
final class Progress implements TrainingListener, AutoCloseable {
    private final ProgressBar bar;
    private final Consumer consumer;
    private final long firstStep;
    private final long totalSteps;
    private final boolean bySamples;
    private final long firstSamples;
    private final int epochs;
    private final String workers;
    private final long startNanos = System.nanoTime();
    private long samples;
    private double lossAvg = Double.NaN;
    private double accAvg = Double.NaN;
    private static final long MESSAGE_INTERVAL_NANOS = 100_000_000L;
    private long lastMessageNanos = Long.MIN_VALUE / 2;
    private StepMetrics last; // the newest step, formatted on close so the final line is exact

    /**
     * @param err         where the bar goes
     * @param terminal    whether {@code err} is an interactive terminal
     * @param firstStep   optimizer steps already taken (a resumed run starts there)
     * @param totalSteps  the step the run stops at
     */
    Progress(PrintWriter err, boolean terminal, long firstStep, long totalSteps, int epochs, long lineIntervalMillis) {
        this(err, terminal, firstStep, totalSteps, epochs, lineIntervalMillis, -1, 0, 1);
    }

    /**
     * With {@code firstSamples >= 0} the bar counts samples, from {@code firstSamples} (already seen
     * before a resume) to {@code totalSamples}, for an adaptive batch. With {@code workers > 1} (Spark) the line says
     * how many workers compute each step.
     */
    Progress(PrintWriter err, boolean terminal, long firstStep, long totalSteps, int epochs, long lineIntervalMillis,
             long firstSamples, long totalSamples, int workers) {
        this.workers = workers > 1 ? String.format(Locale.ROOT, " on %d workers", workers) : "";
        this.firstStep = firstStep;
        this.totalSteps = totalSteps;
        this.epochs = epochs;
        this.bySamples = firstSamples >= 0;
        this.firstSamples = Math.max(0, firstSamples);
        this.consumer = terminal ? new TerminalConsumer(err) : new LineConsumer(err, lineIntervalMillis);
        this.bar = new ProgressBarBuilder()
                .setTaskName("train")
                .setInitialMax(Math.max(1, bySamples ? totalSamples - this.firstSamples : totalSteps - firstStep))
                .setStyle(terminal ? ProgressBarStyle.COLORFUL_UNICODE_BAR : ProgressBarStyle.ASCII)
                .setUnit(bySamples ? " samples" : " steps", 1)
                .setUpdateIntervalMillis(terminal ? 200 : 1000)
                .setConsumer(consumer)
                .build();
    }

    @Override
    public void onStep(StepMetrics m) {
        samples += m.batch();
        // Exponential moving averages over about 50 steps: readable while the per-step values jump.
        double a = 0.04;
        lossAvg = Double.isNaN(lossAvg) ? m.loss() : (1 - a) * lossAvg + a * m.loss();
        accAvg = Double.isNaN(accAvg) ? m.accuracy() : (1 - a) * accAvg + a * m.accuracy();
        bar.stepTo(bySamples ? m.samples() - firstSamples : m.step() - firstStep);
        // The bar is drawn at most every 200 ms, so the text is formatted at most every 100 ms: a String.format
        // per step cost 5-50 us while interpreted and kept the JIT compiling formatting code through the run.
        long now = System.nanoTime();
        last = m;
        if (now - lastMessageNanos >= MESSAGE_INTERVAL_NANOS) {
            lastMessageNanos = now;
            bar.setExtraMessage(message(m, (now - startNanos) / 1e9));
        }
    }

    private String message(StepMetrics m, double seconds) {
        String noise = Double.isNaN(m.noiseScale()) ? "" : String.format(Locale.ROOT, " B_simple %.0f", m.noiseScale());
        return String.format(Locale.ROOT, "epoch %d/%d step %d%s loss %.4f acc %.4f%s%s %,.0f samples/s%s",
                m.epoch() + 1, epochs, m.step(), bySamples ? "" : "/" + totalSteps, lossAvg, accAvg, noise,
                bySamples ? " batch " + m.batch() : "", samples / Math.max(1e-9, seconds), workers);
    }

    /** Runs {@code print} with the bar's line cleared first, so other output does not run into it. */
    void interrupt(Runnable print) {
        synchronized (consumer) {
            consumer.clearLine();
            print.run();
        }
    }

    private boolean closed;

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (last != null) {
                bar.setExtraMessage(message(last, (System.nanoTime() - startNanos) / 1e9));
            }
            bar.close();
        }
    }

    private interface Consumer extends ProgressBarConsumer {
        void clearLine();
    }

    /** Redraws one line with a carriage return, as wide as the terminal. */
    private static final class TerminalConsumer implements Consumer {
        private final PrintWriter out;
        private final int width;

        TerminalConsumer(PrintWriter out) {
            this.out = out;
            int w;
            try {
                w = new ConsoleProgressBarConsumer(System.err).getMaxRenderedLength();
            } catch (RuntimeException | LinkageError e) {
                w = 100;
            }
            this.width = w > 20 ? w : 100;
        }

        @Override
        public int getMaxRenderedLength() {
            return width;
        }

        @Override
        public synchronized void accept(String line) {
            String s = line.length() > width ? line.substring(0, width) : line;
            out.print('\r' + s);
            out.flush();
        }

        @Override
        public synchronized void clearLine() {
            out.print('\r' + " ".repeat(width) + '\r');
            out.flush();
        }

        @Override
        public synchronized void close() {
            out.println();
            out.flush();
        }
    }

    /** Whole lines, at most one per interval, and the last state on close. */
    private static final class LineConsumer implements Consumer {
        private final PrintWriter out;
        private final long intervalNanos;
        private long lastNanos;
        private String pending;

        LineConsumer(PrintWriter out, long intervalMillis) {
            this.out = out;
            this.intervalNanos = intervalMillis * 1_000_000L;
            this.lastNanos = System.nanoTime();
        }

        @Override
        public int getMaxRenderedLength() {
            return 160;
        }

        @Override
        public synchronized void accept(String line) {
            pending = line;
            long now = System.nanoTime();
            if (now - lastNanos >= intervalNanos) {
                flushPending(now);
            }
        }

        private void flushPending(long now) {
            if (pending != null) {
                out.println(pending.strip());
                out.flush();
                pending = null;
            }
            lastNanos = now;
        }

        @Override
        public synchronized void clearLine() {
        }

        @Override
        public synchronized void close() {
            flushPending(System.nanoTime());
        }
    }
}
