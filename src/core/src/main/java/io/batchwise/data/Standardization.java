package io.batchwise.data;

import io.batchwise.Shape;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import io.batchwise.train.InMemoryDataset;
import java.util.Arrays;

/**
 * {@code x' = (x - mean) / std}, with the mean and standard deviation fitted on one data set (the training set) and
 * applied to any other (the test set, a predictor's inputs), so every set gets the same transform. Immutable.
 *
 * <p>A statistic covers a group of consecutive input elements: one feature ({@link #perFeature}, for tables) or one
 * channel of a {@code (C, H, W)} sample ({@link #perChannel}, for images). The standard deviation is the population's
 * (divided by the count, as scikit-learn's {@code StandardScaler}); a constant group gets std 1, so it maps to 0.
 */
public final class Standardization {
    private final float[] mean;
    private final float[] std;
    private final int group;

    private Standardization(float[] mean, float[] std, int group) {
        if (mean.length != std.length || mean.length == 0 || group < 1) {
            throw new IllegalArgumentException(mean.length + " means, " + std.length + " standard deviations, group " + group);
        }
        for (int i = 0; i < std.length; i++) {
            if (!(std[i] > 0) || !Float.isFinite(std[i]) || !Float.isFinite(mean[i])) {
                throw new IllegalArgumentException("statistic " + i + ": mean " + mean[i] + ", std " + std[i]
                        + " (std must be finite and > 0)");
            }
        }
        this.mean = mean.clone();
        this.std = std.clone();
        this.group = group;
    }

    /** Given statistics: {@code mean[i]} and {@code std[i]} apply to input elements {@code [i * group, (i + 1) * group)}. */
    public static Standardization of(float[] mean, float[] std, int group) {
        return new Standardization(mean, std, group);
    }

    /** One mean and std per input element (a table's feature), fitted on {@code data}. */
    public static Standardization perFeature(Dataset data) {
        return fit(data, 1);
    }

    /** One mean and std per channel of {@code (C, H, W)} samples, fitted on {@code data}. */
    public static Standardization perChannel(Dataset data) {
        Shape s = data.sampleShape();
        if (s.rank() != 3) {
            throw new IllegalArgumentException("per-channel statistics need (C, H, W) samples, not " + s);
        }
        return fit(data, s.dim(1) * s.dim(2));
    }

    private static Standardization fit(Dataset data, int group) {
        int per = data.sampleShape().sizeAsInt();
        int k = per / group;
        double[] sum = new double[k];
        double[] sq = new double[k];
        float[] x = new float[per * Math.min(data.size(), 256)];
        int[] idx = identity(data.size());
        // Two passes (mean, then squared deviations): exact enough in double whatever the offset of the data.
        for (int pass = 0; pass < 2; pass++) {
            for (int from = 0; from < data.size(); from += x.length / per) {
                int m = Math.min(x.length / per, data.size() - from);
                data.copyInputs(idx, from, m, x);
                for (int i = 0; i < m * per; i++) {
                    int g = (i % per) / group;
                    if (pass == 0) {
                        sum[g] += x[i];
                    } else {
                        double d = x[i] - sum[g];
                        sq[g] += d * d;
                    }
                }
            }
            if (pass == 0) {
                for (int g = 0; g < k; g++) {
                    sum[g] /= (double) data.size() * group;
                }
            }
        }
        float[] mean = new float[k];
        float[] std = new float[k];
        for (int g = 0; g < k; g++) {
            mean[g] = (float) sum[g];
            double s = Math.sqrt(sq[g] / ((double) data.size() * group));
            std[g] = s > 1e-12 && (float) s > 0 ? (float) s : 1f;
        }
        return new Standardization(mean, std, group);
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    /** Input elements per statistic. */
    public int group() {
        return group;
    }

    /** Standardises {@code n} samples in {@code x} (sample-major) in place. */
    public void applyInPlace(float[] x, int n) {
        int per = mean.length * group;
        if ((long) n * per > x.length) {
            throw new IllegalArgumentException(n + " samples of " + per + " values do not fit in " + x.length);
        }
        for (int i = 0; i < n * per; i++) {
            int g = (i % per) / group;
            x[i] = (x[i] - mean[g]) / std[g];
        }
    }

    /** A standardised copy of {@code data} (its samples must have as many elements as the statistics cover). */
    public InMemoryDataset apply(Dataset data) {
        int per = data.sampleShape().sizeAsInt();
        if (per != mean.length * group) {
            throw new IllegalArgumentException("samples of shape " + data.sampleShape() + " have " + per + " values; these"
                    + " statistics cover " + mean.length * group);
        }
        int n = data.size();
        int[] idx = identity(n);
        float[] x = new float[Math.multiplyExact(n, per)];
        data.copyInputs(idx, 0, n, x);
        applyInPlace(x, n);
        Targets t = data.targets(idx, 0, n);
        if (t instanceof Targets.Labels l) {
            int[] y = new int[n];
            Arrays.setAll(y, l::label);
            return InMemoryDataset.labelled(x, data.sampleShape(), y);
        }
        Targets.Values v = (Targets.Values) t;
        float[] y = new float[(int) (n * v.sampleShape().size())];
        for (int i = 0; i < y.length; i++) {
            y[i] = v.value(i);
        }
        return InMemoryDataset.regression(x, data.sampleShape(), y, v.sampleShape());
    }

    private static int[] identity(int n) {
        int[] o = new int[n];
        Arrays.setAll(o, i -> i);
        return o;
    }

    @Override
    public String toString() {
        return "Standardization[mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std) + ", group " + group + "]";
    }
}
