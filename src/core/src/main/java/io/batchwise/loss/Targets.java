package io.batchwise.loss;

import io.batchwise.Shape;
import java.util.Arrays;
import java.util.Objects;

/** The targets of a batch of samples: class labels or real values. Immutable. */
public sealed interface Targets {

    /** Number of samples. */
    int count();

    /** Samples {@code [from, from + n)}. */
    Targets slice(int from, int n);

    static Labels labels(int... labels) {
        return new Labels(labels.clone());
    }

    static Values values(Shape sampleShape, float... values) {
        return new Values(sampleShape, values.clone());
    }

    /** One class index per sample. */
    final class Labels implements Targets {
        private final int[] labels;

        private Labels(int[] labels) {
            this.labels = labels;
        }

        public int label(int i) {
            return labels[i];
        }

        @Override
        public int count() {
            return labels.length;
        }

        @Override
        public Labels slice(int from, int n) {
            return new Labels(Arrays.copyOfRange(labels, from, from + n));
        }
    }

    /** {@code sampleShape.size()} values per sample, sample-major. */
    final class Values implements Targets {
        private final Shape sampleShape;
        private final float[] values;

        private Values(Shape sampleShape, float[] values) {
            this.sampleShape = Objects.requireNonNull(sampleShape);
            if (values.length % sampleShape.size() != 0) {
                throw new IllegalArgumentException(values.length + " target values are not a whole number of samples of shape "
                        + sampleShape);
            }
            this.values = values;
        }

        public Shape sampleShape() {
            return sampleShape;
        }

        public float value(int i) {
            return values[i];
        }

        @Override
        public int count() {
            return (int) (values.length / sampleShape.size());
        }

        @Override
        public Values slice(int from, int n) {
            int s = sampleShape.sizeAsInt();
            return new Values(sampleShape, Arrays.copyOfRange(values, from * s, (from + n) * s));
        }
    }
}
