package io.batchwise.cudnn;

import io.batchwise.Shape;

/**
 * One buffer of a step, known by its size before any device memory exists. Every tensor of this
 * backend is float32 in its plain row-major (NCHW) layout, so a buffer is its logical shape and its
 * bytes. At bind time the executor gives it an address: a place in the step's arena, the address of
 * the buffer it aliases ({@link #aliasOf}: Flatten's output is its input's bytes), or a slot of the
 * bound {@link io.batchwise.backend.Parameters}.
 */
final class CudnnBuffer {
    /** Which of the flat parameter tensors a parameter view points into. */
    enum Store { VALUES, GRADIENTS, STATE }

    final int index;          // position in the program's buffer list: the executor's address table
    final String name;        // the memory plan's buffer name, e.g. conv1.dst
    final Shape shape;        // logical shape, batch first for step buffers
    final long bytes;
    final CudnnBuffer aliasOf; // the root allocation of a view, or null
    final Store store;         // non-null: a view of a parameter slot
    final long storeOffset;    // its element offset in the store

    CudnnBuffer(int index, String name, Shape shape, long bytes, CudnnBuffer aliasOf, Store store, long storeOffset) {
        this.index = index;
        this.name = name;
        this.shape = shape;
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

    /** Float32 elements. */
    long elements() {
        return bytes / 4;
    }

    @Override
    public String toString() {
        return name + " " + shape + (store != null ? " in " + store.name().toLowerCase() + " at " + storeOffset
                : aliasOf != null ? " (view of " + aliasOf.name + ")" : "");
    }
}
