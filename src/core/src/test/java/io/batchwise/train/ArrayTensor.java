package io.batchwise.train;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.HostTensor;

/** A float64 host tensor over a Java array, for optimizer tests that need no backend. */
final class ArrayTensor implements HostTensor {
    final double[] a;

    ArrayTensor(double... a) {
        this.a = a;
    }

    static ArrayTensor zeros(int n) {
        return new ArrayTensor(new double[n]);
    }

    public double get(long i) {
        return a[(int) i];
    }

    public void set(long i, double v) {
        a[(int) i] = v;
    }

    public Shape shape() {
        return Shape.of(a.length);
    }

    public DataType dataType() {
        return DataType.FLOAT64;
    }

    public long bytes() {
        return 8L * a.length;
    }

    public void read(long offset, float[] dst, int dstOff, int len) {
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = (float) a[(int) offset + i];
        }
    }

    public void write(long offset, float[] src, int srcOff, int len) {
        for (int i = 0; i < len; i++) {
            a[(int) offset + i] = src[srcOff + i];
        }
    }

    public void close() {
    }
}
