package io.batchwise.train;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/** A float32 host tensor in direct memory, like a CPU backend's flat buffers. */
final class DirectFloatTensor implements HostTensor {
    final FloatBuffer f;

    DirectFloatTensor(float... values) {
        f = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
        f.put(0, values);
    }

    public double get(long i) {
        return f.get((int) i);
    }

    public void set(long i, double v) {
        f.put((int) i, (float) v);
    }

    public Shape shape() {
        return Shape.of(f.capacity());
    }

    public DataType dataType() {
        return DataType.FLOAT32;
    }

    public long bytes() {
        return 4L * f.capacity();
    }

    public void read(long offset, float[] dst, int dstOff, int len) {
        f.get((int) offset, dst, dstOff, len);
    }

    public void write(long offset, float[] src, int srcOff, int len) {
        f.put((int) offset, src, srcOff, len);
    }

    public void close() {
    }
}
