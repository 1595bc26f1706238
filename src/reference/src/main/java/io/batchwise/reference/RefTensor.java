package io.batchwise.reference;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.MemoryTracker;

/**
 * A reference tensor: a {@code double[]} in logical row-major order. A FLOAT32 tensor holds only
 * float-representable values (every public write rounds with {@code (double) (float) v}); kernels
 * write raw doubles into {@link #data} and the executor calls {@link #round} once a node is done,
 * so that sums inside a kernel are accumulated in float64 and rounded once.
 *
 * <p>Life cycle: counted by its backend's {@link MemoryTracker} as {@code size * dataType.bytes()}
 * bytes from construction to {@link #close()} (idempotent); after close every public method throws.
 */
final class RefTensor implements HostTensor {
    private final Shape shape;
    private final DataType type;
    private final MemoryTracker tracker;
    private final String owner;
    /** The elements; package-private so that kernels loop over it directly. Null once closed. */
    double[] data;

    /**
     * @param owner what the tensor is, for error messages (e.g. {@code input 'x'}); null for none
     */
    RefTensor(Shape shape, DataType type, MemoryTracker tracker, String owner) {
        this.shape = shape;
        this.type = type;
        this.tracker = tracker;
        this.owner = owner;
        this.data = new double[shape.sizeAsInt()];
        tracker.allocated(bytes());
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public DataType dataType() {
        return type;
    }

    @Override
    public long bytes() {
        return shape.size() * type.bytes();
    }

    boolean isClosed() {
        return data == null;
    }

    /** The elements, checked open: for executor code that reads tensors it did not allocate. */
    double[] data() {
        if (data == null) {
            throw new IllegalStateException(describe() + " is closed");
        }
        return data;
    }

    @Override
    public void read(long offset, float[] dst, int dstOff, int len) {
        double[] d = data();
        checkRange(offset, len);
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = (float) d[(int) offset + i];
        }
    }

    @Override
    public void write(long offset, float[] src, int srcOff, int len) {
        double[] d = data();
        checkRange(offset, len);
        for (int i = 0; i < len; i++) {
            d[(int) offset + i] = src[srcOff + i]; // a float is exact in both types
        }
    }

    @Override
    public void write(float[] src) {
        checkLength(src.length);
        write(0, src, 0, src.length);
    }

    @Override
    public double[] toDoubles() {
        return data().clone();
    }

    @Override
    public void writeDoubles(double[] src) {
        double[] d = data();
        checkLength(src.length);
        for (int i = 0; i < src.length; i++) {
            d[i] = round(src[i]);
        }
    }

    @Override
    public double get(long i) {
        return data()[Math.toIntExact(i)];
    }

    @Override
    public void set(long i, double v) {
        data()[Math.toIntExact(i)] = round(v);
    }

    /** Rounds every element to this tensor's type (a no-op for FLOAT64). */
    void round() {
        round(0, data.length);
    }

    /** Rounds elements {@code [from, from + len)} to this tensor's type. */
    void round(long from, long len) {
        if (type == DataType.FLOAT32) {
            double[] d = data();
            for (int i = (int) from, end = (int) (from + len); i < end; i++) {
                d[i] = (float) d[i];
            }
        }
    }

    /** Zero-fills the tensor. */
    void zero() {
        java.util.Arrays.fill(data(), 0);
    }

    private double round(double v) {
        return type == DataType.FLOAT32 ? (float) v : v;
    }

    private void checkLength(int len) {
        if (len != shape.size()) {
            String perSample = shape.rank() > 1 ? ", " + shape.dim(0) + " samples of " + shape.withoutBatch() : "";
            throw new IllegalArgumentException(describe() + " has shape " + shape + " (" + shape.size() + " values"
                    + perSample + "), got " + len + " values");
        }
    }

    private void checkRange(long offset, int len) {
        if (offset < 0 || len < 0 || offset + len > shape.size()) {
            throw new IndexOutOfBoundsException(describe() + " of shape " + shape + " (" + shape.size()
                    + " values): elements [" + offset + ", " + (offset + len) + ") are out of range");
        }
    }

    private String describe() {
        return owner != null ? owner : "tensor";
    }

    @Override
    public void close() {
        if (data != null) {
            data = null;
            tracker.freed(bytes());
        }
    }

    @Override
    public String toString() {
        return describe() + " " + shape + " " + type;
    }
}
