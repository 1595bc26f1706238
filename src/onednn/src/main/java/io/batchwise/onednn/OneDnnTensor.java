package io.batchwise.onednn;

import io.batchwise.DataType;
import io.batchwise.Shape;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.spi.Bf16;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A float32 or bfloat16 tensor in host memory, described by a oneDNN memory descriptor that may be plain
 * (row-major) or blocked (e.g. {@code nChw16c}). A bf16 tensor reads and writes as floats: whole-tensor
 * copies go through a float32 staging buffer and a oneDNN reorder (round to nearest even), element access
 * converts in Java the same way. Logical elements are addressed in place through
 * {@link OneDnnLayout}: directly for plain layouts, through the block arithmetic otherwise, so
 * reading a blocked activation never needs a temporary copy.
 *
 * <p>Life cycle: an <em>owning</em> tensor allocates its bytes ({@code md.get_size()}, counted by the
 * backend's tracker) and a oneDNN {@code memory} over them, and frees both in {@link #close()}. A
 * <em>view</em> (an executor's buffers, aliases, parameter slots) points into memory someone else
 * owns; closing it frees only its own {@code memory} object.
 */
final class OneDnnTensor implements HostTensor {
    private final Shape shape;
    private final memory.desc md;
    private final boolean ownsDesc;
    private final memory memory;
    private final Pointer data;
    private final long bytes;
    private final OneDnnLayout layout;
    private final boolean bf16;      // 2-byte bfloat16 elements (else float32)
    private java.nio.ShortBuffer shorts; // host view over a bf16 tensor's bytes, made on first use
    private FloatBuffer floats;      // host view over the bytes, made on first use (null: over 2 GiB)
    private FloatPointer bigFloats;  // element access beyond what a Java buffer can address
    private final MemoryTracker tracker; // null for views
    private final String label;
    private final OneDnnRuntime rt;
    private Stage stage; // whole-tensor copies of a non-plain layout, made on first use
    private boolean closed;

    /**
     * A plain copy of a non-plain tensor and the two reorders between them: a whole-tensor read or write of a
     * blocked layout is one bulk copy and one oneDNN reorder instead of a Java loop over logical indices.
     */
    private static final class Stage {
        final memory plain;
        final reorder in;  // plain -> the tensor's layout
        final reorder out; // the tensor's layout -> plain
        final FloatPointer floats;
        final long bytes;
        final boolean owns;

        /**
         * Over {@code external} (a plain tensor of the same logical shape that someone else owns: a planned arena slot),
         * or, when null, over memory of its own, counted by the tracker.
         */
        Stage(OneDnnRuntime rt, memory.desc md, long elements, memory external) {
            this.owns = external == null;
            try (memory.desc pmd = OneDnnMd.plain(OneDnnMd.dims(md))) {
                plain = owns ? new memory(pmd, rt.engine) : external;
                try (reorder.primitive_desc a = new reorder.primitive_desc(rt.engine, pmd, rt.engine, md);
                     reorder.primitive_desc b = new reorder.primitive_desc(rt.engine, md, rt.engine, pmd)) {
                    in = new reorder(a);
                    out = new reorder(b);
                }
            }
            floats = new FloatPointer(plain.get_data_handle()).capacity(elements).limit(elements);
            bytes = owns ? 4 * elements : 0;
            OneDnnRuntime.TRACKER.allocated(bytes);
        }

        void close() {
            in.close();
            out.close();
            if (owns) {
                plain.close();
            }
            OneDnnRuntime.TRACKER.freed(bytes);
        }
    }

    private OneDnnTensor(OneDnnRuntime rt, Shape shape, memory.desc md, boolean ownsDesc, memory memory, Pointer data,
                         MemoryTracker tracker, String label) {
        this.rt = rt;
        this.shape = shape;
        this.md = md;
        this.ownsDesc = ownsDesc;
        this.memory = memory;
        this.data = data;
        this.bytes = md.get_size();
        this.bf16 = OneDnnMd.isBf16(md); // else f32, or a workspace of another type that only primitives touch
        this.layout = new OneDnnLayout(md);
        this.tracker = tracker;
        this.label = label;
        if (ownsDesc) {
            md.retainReference();
        }
        if (layout.elements() != shape.size()) {
            throw new IllegalArgumentException("descriptor " + OneDnnMd.describe(md) + " does not hold shape " + shape);
        }
    }

    /**
     * Allocates zero-filled memory for {@code md} and counts it with {@code tracker}. Takes ownership of
     * {@code md} when {@code ownsDesc}.
     */
    static OneDnnTensor allocate(OneDnnRuntime rt, Shape shape, memory.desc md, boolean ownsDesc, String label) {
        long bytes = md.get_size();
        memory mem;
        try {
            mem = new memory(md, rt.engine); // oneDNN allocates (aligned) and frees with the memory object
        } catch (RuntimeException | OutOfMemoryError e) {
            // A valid descriptor fails only when the memory cannot be had: say so in the trainer's terms.
            if (ownsDesc) {
                md.close();
            }
            throw new DeviceOutOfMemoryException("oneDNN could not allocate " + bytes + " bytes for "
                    + (label == null ? "a tensor of shape " + shape : label) + " (" + OneDnnRuntime.TRACKER.liveBytes()
                    + " bytes live in the backend)", bytes, e);
        }
        mem.retainReference();
        Pointer data = mem.get_data_handle();
        Pointer.memset(data, 0, bytes);
        OneDnnRuntime.TRACKER.allocated(bytes);
        return new OneDnnTensor(rt, shape, md, ownsDesc, mem, data, OneDnnRuntime.TRACKER, label);
    }

    /** A view of {@code shape} over memory at {@code data} with layout {@code md}; owns neither. */
    static OneDnnTensor view(OneDnnRuntime rt, Shape shape, memory.desc md, Pointer data, String label) {
        memory mem = new memory(md, rt.engine, data);
        mem.retainReference();
        return new OneDnnTensor(rt, shape, md, false, mem, data, null, label);
    }

    /** A pointer to {@code address}, without a deallocator. */
    static Pointer at(long addr) {
        // (the inherited field 'address' would shadow a parameter of the same name)
        return new Pointer() {
            {
                this.address = addr;
            }
        };
    }

    memory memory() {
        return memory;
    }

    memory.desc desc() {
        return md;
    }

    long address() {
        return data.address();
    }

    OneDnnLayout layout() {
        return layout;
    }

    /** Physical element {@code i} (memory order, padding included), for host-side steps. */
    float getAt(long i) {
        if (bf16) {
            return Bf16.toFloat(shorts().get(Math.toIntExact(i)));
        }
        FloatBuffer f = floats();
        return f != null ? f.get((int) i) : bigFloats.get(i);
    }

    /** Sets physical element {@code i} (a bf16 tensor stores it rounded to nearest even, as oneDNN's reorders do). */
    void putAt(long i, float v) {
        if (bf16) {
            shorts().put(Math.toIntExact(i), Bf16.fromFloat(v));
            return;
        }
        FloatBuffer f = floats();
        if (f != null) {
            f.put((int) i, v);
        } else {
            bigFloats.put(i, v);
        }
    }

    /** Elements in memory order, padding of a blocked layout included. */
    long physicalElements() {
        return bytes / (bf16 ? 2 : 4);
    }

    private java.nio.ShortBuffer shorts() {
        if (shorts == null) {
            if (bytes > Integer.MAX_VALUE) {
                throw new UnsupportedOperationException("element access to a bf16 tensor over 2 GiB");
            }
            shorts = bytes == 0 ? java.nio.ShortBuffer.allocate(0)
                    : new BytePointer(data).capacity(bytes).limit(bytes).asByteBuffer().order(ByteOrder.nativeOrder())
                            .asShortBuffer();
        }
        return shorts;
    }

    /** Whether whole reads and writes copy floats straight from the bytes (plain float32). */
    private boolean directFloats() {
        return !bf16 && layout.plain();
    }

    /** A Java view of the bytes (made once), or null when they exceed what a Java buffer addresses. */
    private FloatBuffer floats() {
        if (floats == null && bigFloats == null) {
            if (bytes <= Integer.MAX_VALUE) {
                floats = bytes == 0 ? FloatBuffer.allocate(0)
                        : new BytePointer(data).capacity(bytes).limit(bytes).asByteBuffer().order(ByteOrder.nativeOrder())
                                .asFloatBuffer();
            } else {
                bigFloats = new FloatPointer(data);
            }
        }
        return floats;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public DataType dataType() {
        return bf16 ? DataType.BFLOAT16 : DataType.FLOAT32;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public double get(long i) {
        check(i, 1);
        return getAt(layout.offset(i));
    }

    @Override
    public void set(long i, double v) {
        check(i, 1);
        putAt(layout.offset(i), (float) v);
    }

    @Override
    public void read(long offset, float[] dst, int dstOff, int len) {
        check(offset, len);
        if (directFloats() && floats() != null) {
            floats.get((int) offset, dst, dstOff, len);
        } else if (offset == 0 && len == size()) {
            Stage st = stage();
            st.out.execute(rt.stream, memory, st.plain);
            rt.stream._wait();
            st.floats.get(dst, dstOff, len);
        } else {
            for (int i = 0; i < len; i++) {
                dst[dstOff + i] = getAt(layout.offset(offset + i));
            }
        }
    }

    @Override
    public void write(long offset, float[] src, int srcOff, int len) {
        check(offset, len);
        if (directFloats() && floats() != null) {
            floats.put((int) offset, src, srcOff, len);
        } else if (offset == 0 && len == size()) {
            Stage st = stage();
            st.floats.put(src, srcOff, len);
            st.in.execute(rt.stream, st.plain, memory);
            rt.stream._wait();
        } else {
            for (int i = 0; i < len; i++) {
                putAt(layout.offset(offset + i), src[srcOff + i]);
            }
        }
    }

    @Override
    public void write(float[] src) {
        if (src.length != size()) {
            throw new IllegalArgumentException((label == null ? "tensor" : label) + " has shape " + shape + " (" + size()
                    + " values), got " + src.length + " values" + perSampleHint(src.length));
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

    /** Whole-tensor copies go through {@code plain} (same logical shape, plain layout, owned elsewhere). */
    void stageThrough(OneDnnTensor plain) {
        if (directFloats()) {
            return;
        }
        if (plain.size() != size() || !plain.directFloats()) {
            throw new IllegalArgumentException(plain + " cannot stage " + this);
        }
        if (stage != null) {
            stage.close();
        }
        stage = new Stage(rt, md, size(), plain.memory);
    }

    private Stage stage() {
        if (stage == null) {
            stage = new Stage(rt, md, size(), null);
        }
        return stage;
    }

    private void check(long offset, long len) {
        if (closed) {
            throw new IllegalStateException((label == null ? "tensor" : label) + " is closed");
        }
        if (offset < 0 || len < 0 || offset + len > size()) {
            throw new IndexOutOfBoundsException("elements [" + offset + ", " + (offset + len) + ") of "
                    + (label == null ? "a tensor" : label) + " of shape " + shape + " (" + size() + " elements)");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (stage != null) {
            stage.close();
            stage = null;
        }
        memory.releaseReference();
        if (ownsDesc) {
            md.releaseReference();
        }
        if (tracker != null) {
            tracker.freed(bytes);
        }
    }

    @Override
    public String toString() {
        return (label == null ? "tensor" : label) + " " + shape + " " + OneDnnMd.describe(md);
    }
}
