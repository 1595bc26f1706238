package io.batchwise.backend;

import io.batchwise.DataType;
import io.batchwise.Shape;

/**
 * A tensor in a backend's memory, logically row-major over {@link #shape()} whatever its physical
 * layout. Reads and writes copy between Java arrays and backend memory: they are for inputs,
 * outputs, tests and checkpoints, not for the hot path of a step.
 *
 * <p>Ownership: a tensor from {@link Backend#allocate} belongs to the caller, who closes it;
 * tensors handed out by an {@link Executor} or {@link Parameters} are views owned by it and are
 * freed when it closes. {@code close()} is idempotent.
 */
public interface Tensor extends AutoCloseable {

    Shape shape();

    DataType dataType();

    /** Bytes of storage, including any padding of a blocked layout. */
    long bytes();

    /** Copies {@code len} elements starting at logical element {@code offset} into {@code dst[dstOff..]}. */
    void read(long offset, float[] dst, int dstOff, int len);

    /** Copies {@code src[srcOff..srcOff + len)} to logical elements {@code [offset, offset + len)}. */
    void write(long offset, float[] src, int srcOff, int len);

    default long size() {
        return shape().size();
    }

    default float[] toArray() {
        float[] a = new float[shape().sizeAsInt()];
        read(0, a, 0, a.length);
        return a;
    }

    default void write(float[] src) {
        if (src.length != size()) {
            throw new IllegalArgumentException("got " + src.length + " values for a tensor of shape " + shape()
                    + " (" + size() + " values)");
        }
        write(0, src, 0, src.length);
    }

    /** All elements as float64; a float64 tensor returns them unrounded. */
    default double[] toDoubles() {
        float[] f = toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Writes all elements from float64 values (rounded to the tensor's type). */
    default void writeDoubles(double[] src) {
        float[] f = new float[src.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) src[i];
        }
        write(f);
    }

    @Override
    void close();
}
