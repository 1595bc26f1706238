package io.batchwise.cudnn;

import io.batchwise.DataType;
import io.batchwise.Shape;

/**
 * One buffer of a step, known by its size before any device memory exists. Every tensor of this
 * backend is in its plain row-major (NCHW) layout, float32 or (activations and weight copies of a bf16
 * plan) bfloat16, so a buffer is its logical shape, its element type and its bytes. At bind time the executor gives it an address: a place in the step's arena, the address of
 * the buffer it aliases ({@link #aliasOf}: Flatten's output is its input's bytes), or a slot of the
 * bound {@link io.batchwise.backend.Parameters}.
 */
final class CudnnBuffer {
    /** Which of the flat parameter tensors a parameter view points into. */
    enum Store { VALUES, GRADIENTS, STATE }

    final int index;          // position in the program's buffer list: the executor's address table
    final String name;        // the memory plan's buffer name, e.g. conv1.dst
    final Shape shape;        // logical shape, batch first for step buffers
    final DataType type;      // FLOAT32 or BFLOAT16 (raw workspaces: FLOAT32, counted in bytes)
    final long bytes;
    final CudnnBuffer aliasOf; // the root allocation of a view, or null
    final Store store;         // non-null: a view of a parameter slot
    final long storeOffset;    // its element offset in the store

    CudnnBuffer(int index, String name, Shape shape, DataType type, long bytes, CudnnBuffer aliasOf, Store store,
                long storeOffset) {
        if (type != DataType.FLOAT32 && type != DataType.BFLOAT16) {
            throw new IllegalArgumentException(name + ": the cudnn backend holds float32 or bfloat16, not " + type);
        }
        if (store != null && type != DataType.FLOAT32) {
            throw new IllegalArgumentException(name + ": parameter slots are float32, got " + type);
        }
        this.index = index;
        this.name = name;
        this.shape = shape;
        this.type = type;
        this.bytes = bytes;
        this.aliasOf = aliasOf == null ? null : aliasOf.root();
        this.store = store;
        this.storeOffset = storeOffset;
    }

    /** The buffer that owns the bytes: itself unless it is a view. */
    CudnnBuffer root() {
        return aliasOf == null ? this : aliasOf;
    }

    boolean isParameter() {
        return store != null;
    }

    boolean bf16() {
        return type == DataType.BFLOAT16;
    }

    /** Elements of its type. */
    long elements() {
        return bytes / type.bytes();
    }

    @Override
    public String toString() {
        return name + " " + shape + (bf16() ? " bf16" : "") + (store != null ? " in " + store.name().toLowerCase() + " at " + storeOffset
                : aliasOf != null ? " (view of " + aliasOf.name + ")" : "");
    }
}
