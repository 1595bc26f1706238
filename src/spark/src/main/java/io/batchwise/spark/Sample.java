package io.batchwise.spark;

import io.batchwise.Shape;
import java.io.Serializable;

/**
 * One training sample as it lives in a Spark RDD: its input, its per-sample shape and its class label.
 *
 * @param shape    per-sample input shape, e.g. {@code [1, 28, 28]}
 * @param features the input, row-major: {@code product(shape)} values
 * @param label    the class index
 */
public record Sample(int[] shape, float[] features, int label) implements Serializable {
    public Sample {
        long size = 1;
        for (int d : shape) {
            size *= d;
        }
        if (features.length != size) {
            throw new IllegalArgumentException("a sample of shape " + Shape.of(shape) + " has " + size + " values, got "
                    + features.length);
        }
    }

    /** A sample of input shape {@code shape} (not copied: an RDD element is read-only). */
    public static Sample of(Shape shape, float[] features, int label) {
        return new Sample(shape.dims(), features, label);
    }
}
