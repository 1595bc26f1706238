package io.batchwise.inference;

import java.util.List;
import java.util.Locale;

/**
 * A classifier's outputs scored against labels: the confusion matrix, accuracy, per-class precision, recall and F1,
 * and top-k accuracy. Immutable.
 *
 * <p>The predicted class is the arg-max of a sample's outputs, the first on a tie, exactly as the trainer's accuracy
 * counts it ({@link io.batchwise.loss.HostLoss}), so {@link #accuracy()} equals the trainer's on the same outputs. A
 * label is in the top k when fewer than k outputs rank before it (greater, or equal at a lower index), so top-1 is the
 * accuracy. A class never predicted has precision 0, one never present recall 0, and F1 0 when both are (scikit-learn's
 * {@code zero_division=0}).
 */
public final class Evaluation {
    private final int classes;
    private final int k;
    private final long[][] confusion; // [actual][predicted]
    private final long samples;
    private final long topKHits;

    private Evaluation(int classes, int k, long[][] confusion, long samples, long topKHits) {
        this.classes = classes;
        this.k = k;
        this.confusion = confusion;
        this.samples = samples;
        this.topKHits = topKHits;
    }

    /**
     * Scores {@code outputs} ({@code labels.length * classes} values, sample-major) against {@code labels} (each in
     * {@code 0..classes-1}), with top-{@code k} accuracy ({@code 1 <= k <= classes}).
     */
    public static Evaluation of(float[] outputs, int[] labels, int classes, int k) {
        if (classes < 1 || k < 1 || k > classes) {
            throw new IllegalArgumentException("need classes >= 1 and 1 <= k <= classes, got " + classes + " classes, k = " + k);
        }
        if (outputs.length != (long) labels.length * classes) {
            throw new IllegalArgumentException(outputs.length + " outputs are not " + classes + " per label for "
                    + labels.length + " labels");
        }
        long[][] m = new long[classes][classes];
        long hits = 0;
        for (int s = 0; s < labels.length; s++) {
            int y = labels[s];
            if (y < 0 || y >= classes) {
                throw new IllegalArgumentException("label " + y + " of sample " + s + " is outside 0.." + (classes - 1));
            }
            int o = s * classes;
            int arg = 0;
            for (int c = 1; c < classes; c++) {
                if (outputs[o + c] > outputs[o + arg]) {
                    arg = c;
                }
            }
            m[y][arg]++;
            int before = 0; // outputs ranked before the label's
            for (int c = 0; c < classes; c++) {
                if (outputs[o + c] > outputs[o + y] || (c < y && outputs[o + c] == outputs[o + y])) {
                    before++;
                }
            }
            if (before < k && !Float.isNaN(outputs[o + y])) {
                hits++;
            }
        }
        return new Evaluation(classes, k, m, labels.length, hits);
    }

    public int classes() {
        return classes;
    }

    public long samples() {
        return samples;
    }

    /** The k of {@link #topKAccuracy()}. */
    public int topK() {
        return k;
    }

    /** Samples of class {@code actual} predicted as {@code predicted}. */
    public long count(int actual, int predicted) {
        return confusion[actual][predicted];
    }

    /** The confusion matrix, {@code [actual][predicted]}; a copy. */
    public long[][] confusionMatrix() {
        long[][] c = new long[classes][];
        for (int i = 0; i < classes; i++) {
            c[i] = confusion[i].clone();
        }
        return c;
    }

    /** Samples whose label is {@code c}. */
    public long support(int c) {
        long s = 0;
        for (long v : confusion[c]) {
            s += v;
        }
        return s;
    }

    /** Samples predicted as {@code c}. */
    public long predicted(int c) {
        long s = 0;
        for (long[] row : confusion) {
            s += row[c];
        }
        return s;
    }

    public long correct() {
        long s = 0;
        for (int c = 0; c < classes; c++) {
            s += confusion[c][c];
        }
        return s;
    }

    public double accuracy() {
        return samples == 0 ? Double.NaN : (double) correct() / samples;
    }

    public double topKAccuracy() {
        return samples == 0 ? Double.NaN : (double) topKHits / samples;
    }

    /** Of the samples predicted as {@code c}, the share that are {@code c}. */
    public double precision(int c) {
        long p = predicted(c);
        return p == 0 ? 0 : (double) confusion[c][c] / p;
    }

    /** Of the samples of class {@code c}, the share predicted as {@code c}. */
    public double recall(int c) {
        long s = support(c);
        return s == 0 ? 0 : (double) confusion[c][c] / s;
    }

    /** The harmonic mean of precision and recall. */
    public double f1(int c) {
        double p = precision(c);
        double r = recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /** The unweighted mean of the classes' F1. */
    public double macroF1() {
        double s = 0;
        for (int c = 0; c < classes; c++) {
            s += f1(c);
        }
        return s / classes;
    }

    /**
     * A readable report: accuracy, top-k, the confusion matrix (rows: actual class, columns: predicted) and per-class
     * precision, recall, F1 and support. {@code names} labels the classes (null: their numbers).
     */
    public String report(List<String> names) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "accuracy %.4f on %,d samples%n", accuracy(), samples));
        sb.append(String.format(Locale.ROOT, "top-%d accuracy %.4f%n", k, topKAccuracy()));
        sb.append(String.format(Locale.ROOT, "macro F1 %.4f%n%n", macroF1()));
        int w = 12;
        for (int c = 0; c < classes; c++) {
            w = Math.max(w, c(c).length() + name(names, c).length() + 2); // "3 Dress" and a space
        }
        int cell = Math.max(6, Long.toString(samples).length() + 1);
        sb.append("confusion matrix (rows: actual class, columns: predicted)\n");
        sb.append(String.format("%-" + w + "s", ""));
        for (int c = 0; c < classes; c++) {
            sb.append(String.format("%" + cell + "d", c));
        }
        sb.append('\n');
        for (int a = 0; a < classes; a++) {
            sb.append(String.format("%-" + w + "s", c(a) + " " + name(names, a)));
            for (int p = 0; p < classes; p++) {
                sb.append(String.format("%" + cell + "d", confusion[a][p]));
            }
            sb.append('\n');
        }
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, "%-" + w + "s %9s %9s %9s %9s%n", "class", "precision", "recall", "f1", "support"));
        for (int c = 0; c < classes; c++) {
            sb.append(String.format(Locale.ROOT, "%-" + w + "s %9.4f %9.4f %9.4f %9d%n", c(c) + " " + name(names, c),
                    precision(c), recall(c), f1(c), support(c)));
        }
        return sb.toString();
    }

    private static String c(int c) {
        return String.valueOf(c);
    }

    private static String name(List<String> names, int c) {
        return names != null && c < names.size() ? names.get(c) : "";
    }
}
