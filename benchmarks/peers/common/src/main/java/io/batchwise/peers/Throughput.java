package io.batchwise.peers;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.IntSupplier;

/**
 * The timing harness both peers share, shaped like the JMH runs of Batchwise's TrainingStepBenchmark:
 * {@code warmups} windows, then {@code windows} timed windows of {@code seconds} each, one optimizer step after
 * another on consecutive real Fashion-MNIST batches; a window ends at the first step that finishes after its
 * time is up, and its throughput is samples / elapsed seconds. Prints one line:
 * <pre>
 * RESULT tool=T model=M batch=B threads=N [peer keys] samples_s=MEDIAN min=.. max=.. windows_samples_s=w1,w2,..
 *        steps=S loss_start=L0 loss_end=L1
 * </pre>
 * {@code loss_start} is the mean loss of the first steps (fresh weights), {@code loss_end} that of as many steps
 * after the timed windows: training works when it is lower. Both are read outside the timed windows.
 */
public final class Throughput {
    private Throughput() {
    }

    /** One framework's training step on one of its prepared batches. */
    public interface Peer {
        /** Batches prepared, each of {@code batch} samples; steps cycle through them. */
        int batches();

        /** One optimizer step (forward, loss, backward, SGD update) on batch {@code i}. */
        void step(int i);

        /** The same step, returning its mean loss (may cost a synchronisation; never timed). */
        double stepWithLoss(int i);
    }

    /**
     * Consecutive batches of the training set: {@code min(60000 / batch, 2048)} of them, so that a run sees
     * many different real batches while the copies stay small (at most the 60,000 images).
     */
    public static int batchCount(FashionMnist data, int batch) {
        int n = Math.min(data.count / batch, 2048);
        if (n < 1) {
            throw new IllegalArgumentException("batch " + batch + " is larger than the training set (" + data.count + ")");
        }
        return n;
    }

    /** Measures {@code peer} and prints its RESULT line; {@code keys} are the peer's own settings, printed too. */
    public static void run(String tool, Options o, Map<String, String> keys, Peer peer) {
        int batch = o.batch();
        int lossSteps = Math.max(4, Math.min(256, (256 + batch - 1) / batch)); // about 256 samples each
        int[] next = {0};
        IntSupplier cycle = () -> {
            int i = next[0];
            next[0] = (i + 1) % peer.batches();
            return i;
        };
        double lossStart = 0;
        for (int s = 0; s < lossSteps; s++) {
            lossStart += peer.stepWithLoss(cycle.getAsInt());
        }
        lossStart /= lossSteps;

        long steps = 0;
        for (int w = 0; w < o.warmups(); w++) {
            steps += window(peer, cycle, o.seconds())[0];
        }
        double[] rates = new double[o.windows()];
        for (int w = 0; w < rates.length; w++) {
            long[] r = window(peer, cycle, o.seconds());
            steps += r[0];
            rates[w] = r[0] * (double) batch / (r[1] / 1e9);
        }

        double lossEnd = 0;
        for (int s = 0; s < lossSteps; s++) {
            lossEnd += peer.stepWithLoss(cycle.getAsInt());
        }
        lossEnd /= lossSteps;

        double[] sorted = rates.clone();
        Arrays.sort(sorted);
        StringJoiner line = new StringJoiner(" ", "RESULT ", "");
        line.add("tool=" + tool).add("model=" + o.model()).add("batch=" + batch).add("threads=" + o.threads());
        keys.forEach((k, v) -> line.add(k + "=" + v));
        line.add(f("samples_s=%.1f", median(sorted))).add(f("min=%.1f", sorted[0])).add(f("max=%.1f", sorted[sorted.length - 1]));
        StringJoiner ws = new StringJoiner(",");
        for (double r : rates) {
            ws.add(f("%.1f", r));
        }
        line.add("windows_samples_s=" + ws).add("steps=" + steps).add(f("loss_start=%.4f", lossStart)).add(f("loss_end=%.4f", lossEnd));
        System.out.println(line);
        System.out.flush();
    }

    /** Steps until {@code seconds} have passed: {steps, nanoseconds}. */
    private static long[] window(Peer peer, IntSupplier cycle, double seconds) {
        long t0 = System.nanoTime();
        long end = t0 + (long) (seconds * 1e9);
        long steps = 0;
        long t;
        do {
            peer.step(cycle.getAsInt());
            steps++;
        } while ((t = System.nanoTime()) < end);
        return new long[] {steps, t - t0};
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static String f(String format, double v) {
        return String.format(Locale.ROOT, format, v);
    }
}
