package io.batchwise.peers;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The time-to-accuracy harness both peers share: Batchwise's main job ({@code batchwise train}: AdamW, linear
 * warm-up then cosine, shuffled batches, the test set evaluated after every epoch) in another framework's own
 * training loop. Options (defaults = the job's):
 * <pre>
 * model=mlp|lenet  batch=32  epochs=5  lr=0.004  weight_decay=0.1  warmup_percent=5  seed=1
 * target=0.90 (lenet) | 0.88 (mlp)  eval_batch=1000  train_limit=0 (all 60,000)  threads=1
 * </pre>
 * The timer starts before the first training step, after the data are read and standardized into the
 * framework's tensors and the model is built and initialised, and stops after each epoch's evaluation: it
 * covers training (the per-epoch shuffle and batch gathering included) and evaluation, not data loading.
 * Prints per-epoch lines on stderr and one line on stdout:
 * <pre>
 * RESULT tool=T model=M threads=N [peer keys] batch=32 epochs=5 target=0.9 accuracy=a1,..,a5 elapsed_s=e1,..,e5
 *        time_to_target_s=S|NA reached_epoch=E|NA best_accuracy=A total_s=S timer=train+eval,excluding_data_loading
 * </pre>
 */
public final class TimeToAccuracy {
    private TimeToAccuracy() {
    }

    /** One framework's run: its model, optimizer and data, ready to train. */
    public interface Run {
        /** One epoch ({@code epoch} from 0) over freshly shuffled batches, one optimizer step each. */
        void trainEpoch(int epoch);

        /** Accuracy of the current weights on the test set. */
        double testAccuracy();
    }

    /** The command line, with the job's defaults and the peer's own keys. */
    public static Options options(String[] args, Map<String, String> peerDefaults) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("batch", "32");
        d.put("epochs", "5");
        d.put("lr", "0.004");
        d.put("weight_decay", "0.1");
        d.put("warmup_percent", "5");
        d.put("seed", "1");
        d.put("target", "");
        d.put("eval_batch", "1000");
        d.put("train_limit", "0");
        d.putAll(peerDefaults);
        return new Options(args, d);
    }

    /** The accuracy to reach: {@code target}, else 0.90 for LeNet-5 and 0.88 for the MLP. */
    public static double target(Options o) {
        return o.get("target").isEmpty() ? (o.model().equals("lenet") ? 0.90 : 0.88) : Double.parseDouble(o.get("target"));
    }

    /** The optimizer steps of the run: {@code epochs * ceil(samples / batch)}, the last batch of an epoch partial. */
    public static long totalSteps(Options o, int samples) {
        return o.integer("epochs") * (long) ((samples + o.batch() - 1) / o.batch());
    }

    /**
     * Batchwise's default schedule, {@code warmup:5%+cosine}, as a factor of the base learning rate at optimizer
     * step {@code t} (from 0): linear warm-up {@code (t + 1) / w} over {@code w = max(1, round(total * percent / 100))}
     * steps, then cosine from 1 to 0 over the remaining {@code total - w} (io.batchwise.train.Schedule and the CLI's
     * schedule parser, the same arithmetic).
     */
    public static double factor(long t, long total, double percent) {
        long w = Math.max(1, Math.round(total * percent / 100));
        if (t < w) {
            return (t + 1.0) / w;
        }
        double p = Math.min(1.0, (double) (t - w) / Math.max(1, total - w));
        return 0.5 * (1 + Math.cos(Math.PI * p));
    }

    /** Trains {@code epochs} epochs, evaluating after each, and prints the RESULT line. */
    public static void run(String tool, Options o, Map<String, String> keys, Run run) {
        int epochs = o.integer("epochs");
        double target = target(o);
        double[] accuracy = new double[epochs];
        double[] elapsed = new double[epochs];
        int reached = -1;
        long t0 = System.nanoTime();
        for (int e = 0; e < epochs; e++) {
            long t1 = System.nanoTime();
            run.trainEpoch(e);
            long t2 = System.nanoTime();
            accuracy[e] = run.testAccuracy();
            elapsed[e] = (System.nanoTime() - t0) / 1e9;
            if (reached < 0 && accuracy[e] >= target) {
                reached = e;
            }
            System.err.println(f("epoch %d/%d  test accuracy %.4f  %.1f s (training %.1f s, evaluation %.1f s)", e + 1, epochs,
                    accuracy[e], elapsed[e], (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9));
        }
        double best = 0;
        StringJoiner acc = new StringJoiner(",");
        StringJoiner secs = new StringJoiner(",");
        for (int e = 0; e < epochs; e++) {
            best = Math.max(best, accuracy[e]);
            acc.add(f("%.4f", accuracy[e]));
            secs.add(f("%.2f", elapsed[e]));
        }
        StringJoiner line = new StringJoiner(" ", "RESULT ", "");
        line.add("tool=" + tool).add("model=" + o.model()).add("threads=" + o.threads());
        keys.forEach((k, v) -> line.add(k + "=" + v));
        line.add("batch=" + o.batch()).add("epochs=" + epochs).add(f("target=%.4f", target))
                .add("accuracy=" + acc).add("elapsed_s=" + secs)
                .add("time_to_target_s=" + (reached < 0 ? "NA" : f("%.2f", elapsed[reached])))
                .add("reached_epoch=" + (reached < 0 ? "NA" : Integer.toString(reached + 1)))
                .add(f("best_accuracy=%.4f", best)).add(f("total_s=%.2f", elapsed[epochs - 1]))
                .add("timer=train+eval,excluding_data_loading");
        System.out.println(line);
        System.out.flush();
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
