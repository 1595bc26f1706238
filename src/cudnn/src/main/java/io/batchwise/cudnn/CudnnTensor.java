package io.batchwise.cudnn;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.Tensor;
import io.batchwise.spi.Bf16;

/**
 * A float32 or bfloat16 tensor in device memory, plain row-major. Reads and writes copy between Java arrays and
 * the device (synchronously): for inputs, outputs, tests and checkpoints, not for a step's hot path. A bf16 tensor
 * (a bf16 plan's input gradients, its activations in tests) reads and writes as floats, rounded to nearest even
 * on the way in, as the conversion kernel rounds.
 *
 * <p>Life cycle: an <em>owning</em> tensor ({@link #allocate}) holds device memory counted by the
 * device's tracker and frees it in {@link #close()}; a <em>view</em> (an executor's buffers, the arena
 * a trainer shares) points into memory someone else owns, and closing it only stops its use.
 */
final class CudnnTensor implements Tensor {
    private final CudnnDevice device;
    private final Shape shape;
    private final DataType type;
    private final long address;
    private final long bytes;
    private final boolean owns;
    private final String label;
    private boolean closed;

    private CudnnTensor(CudnnDevice device, Shape shape, DataType type, long address, long bytes, boolean owns, String label) {
        this.device = device;
        this.shape = shape;
        this.type = type;
        this.address = address;
        this.bytes = bytes;
        this.owns = owns;
        this.label = label;
    }

    /** Zero-filled device memory for {@code shape}. */
    static CudnnTensor allocate(CudnnDevice device, Shape shape, String label) {
        long bytes = 4 * shape.size();
        long address = device.allocate(bytes, label == null ? "a tensor of shape " + shape : label);
        return new CudnnTensor(device, shape, DataType.FLOAT32, address, bytes, true, label);
    }

    /** A float32 view of {@code shape} at {@code address}. */
    static CudnnTensor view(CudnnDevice device, Shape shape, long address, String label) {
        return view(device, shape, DataType.FLOAT32, address, label);
    }

    /** A view of {@code shape} and {@code type} at {@code address}. */
    static CudnnTensor view(CudnnDevice device, Shape shape, DataType type, long address, String label) {
        return new CudnnTensor(device, shape, type, address, type.bytes() * shape.size(), false, label);
    }

    CudnnDevice device() {
        return device;
    }

    long address() {
        if (closed) {
            throw new IllegalStateException(name() + " is closed");
        }
        return address;
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
        return bytes;
    }

    @Override
    public void read(long offset, float[] dst, int dstOff, int len) {
        check(offset, len);
        if (dstOff < 0 || dstOff + len > dst.length) {
            throw new IndexOutOfBoundsException("reading " + len + " values into an array of " + dst.length + " at " + dstOff);
        }
        if (type == DataType.BFLOAT16) {
            short[] h = new short[len];
            device.downloadShorts(address + 2 * offset, h, 0, len);
            for (int i = 0; i < len; i++) {
                dst[dstOff + i] = Bf16.toFloat(h[i]);
            }
        } else {
            device.download(address + 4 * offset, dst, dstOff, len);
        }
    }

    @Override
    public void write(long offset, float[] src, int srcOff, int len) {
        check(offset, len);
        if (srcOff < 0 || srcOff + len > src.length) {
            throw new IndexOutOfBoundsException("writing " + len + " values from an array of " + src.length + " at " + srcOff);
        }
        if (type == DataType.BFLOAT16) {
            short[] h = new short[len];
            for (int i = 0; i < len; i++) {
                h[i] = Bf16.fromFloat(src[srcOff + i]);
            }
            device.uploadShorts(address + 2 * offset, h, 0, len);
        } else {
            device.upload(address + 4 * offset, src, srcOff, len);
        }
    }

    @Override
    public void write(float[] src) {
        if (src.length != size()) {
            throw new IllegalArgumentException(name() + " has shape " + shape + " (" + size() + " values), got " + src.length
                    + " values" + perSampleHint(src.length));
        }
        write(0, src, 0, src.length);
    }

    private String perSampleHint(int got) {
        if (shape.rank() < 2) {
            return "";
        }
        Shape sample = shape.withoutBatch();
        long per = sample.size();
        return got % per == 0 ? " = " + (got / per) + " samples of shape " + sample + " instead of " + shape.dim(0)
                : " (not a whole number of samples of shape " + sample + ")";
    }

    private void check(long offset, long len) {
        if (closed) {
            throw new IllegalStateException(name() + " is closed");
        }
        if (offset < 0 || len < 0 || offset + len > size()) {
            throw new IndexOutOfBoundsException("elements [" + offset + ", " + (offset + len) + ") of " + name() + " of shape "
                    + shape + " (" + size() + " elements)");
        }
    }

    private String name() {
        return label == null ? "tensor" : label;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owns) {
            device.free(address, bytes);
        }
    }

    @Override
    public String toString() {
        return name() + " " + shape + " at 0x" + Long.toHexString(address);
    }
}
