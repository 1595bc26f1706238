package io.batchwise;

import java.util.Arrays;

/**
 * An immutable tensor shape. Layer shapes are per sample, without the batch axis: an image is
 * {@code (C, H, W)}, a feature vector {@code (F)}. A backend prepends the micro-batch when it
 * compiles a graph: {@code (b, C, H, W)}. The logical layout is row-major (NCHW).
 */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        for (int d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("shape dimensions must be positive: " + Arrays.toString(dims));
            }
        }
        this.dims = dims;
    }

    public static Shape of(int... dims) {
        if (dims.length == 0) {
            throw new IllegalArgumentException("a shape needs at least one dimension");
        }
        return new Shape(dims.clone());
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int axis) {
        return dims[axis];
    }

    public int[] dims() {
        return dims.clone();
    }

    /** Number of elements. */
    public long size() {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    /** Number of elements, checked to fit a Java array. */
    public int sizeAsInt() {
        return Math.toIntExact(size());
    }

    /** This per-sample shape with the batch axis in front: {@code (batch, ...)}. */
    public Shape withBatch(int batch) {
        int[] d = new int[dims.length + 1];
        d[0] = batch;
        System.arraycopy(dims, 0, d, 1, dims.length);
        return new Shape(d);
    }

    /** This batched shape without its first (batch) axis. */
    public Shape withoutBatch() {
        if (dims.length < 2) {
            throw new IllegalStateException("shape " + this + " has no axis after the batch axis");
        }
        return new Shape(Arrays.copyOfRange(dims, 1, dims.length));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(dims[i]);
        }
        return sb.append(')').toString();
    }
}
