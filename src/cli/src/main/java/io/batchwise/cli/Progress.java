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
 * samples per second and time left. On a terminal it redraws one line; otherwise (a log file, a
 * pipe, a test) it prints a plain line at most every {@code lineIntervalMillis} and at the end,
 * so logs are never garbled by carriage returns.
 */
final class Progress implements TrainingListener, AutoCloseable {
    private final ProgressBar bar;
    private final Consumer consumer;
    private final long firstStep;
    private final long totalSteps;
    private final int epochs;
    private final long startNanos = System.nanoTime();
    private long samples;
    private double lossAvg = Double.NaN;
    private double accAvg = Double.NaN;

    /**
     * @param err         where the bar goes
     * @param terminal    whether {@code err} is an interactive terminal
     * @param firstStep   optimizer steps already taken (a resumed run starts there)
     * @param totalSteps  the step the run stops at
     */
    Progress(PrintWriter err, boolean terminal, long firstStep, long totalSteps, int epochs, long lineIntervalMillis) {
        this.firstStep = firstStep;
        this.totalSteps = totalSteps;
        this.epochs = epochs;
        this.consumer = terminal ? new TerminalConsumer(err) : new LineConsumer(err, lineIntervalMillis);
        this.bar = new ProgressBarBuilder()
                .setTaskName("train")
                .setInitialMax(Math.max(1, totalSteps - firstStep))
                .setStyle(terminal ? ProgressBarStyle.COLORFUL_UNICODE_BAR : ProgressBarStyle.ASCII)
                .setUnit(" steps", 1)
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
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        bar.stepTo(m.step() - firstStep);
        bar.setExtraMessage(String.format(Locale.ROOT, "epoch %d/%d step %d/%d loss %.4f acc %.4f %,.0f samples/s",
                m.epoch() + 1, epochs, m.step(), totalSteps, lossAvg, accAvg, samples / Math.max(1e-9, seconds)));
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
