package io.batchwise.onednn;

import io.batchwise.Shape;
import org.bytedeco.dnnl.memory;

/**
 * One buffer of a step, known by its memory descriptor before any memory exists. At bind time the
 * executor gives it memory: its own allocation, a view of another buffer's bytes ({@link #aliasOf},
 * e.g. Flatten's output, a Concat gradient slice), or a slot of the bound {@link io.batchwise.backend.Parameters}.
 */
final class OneDnnBuffer {
    /** Where a parameter view points. */
    enum Store { VALUES, GRADIENTS, STATE }

    final String name;
    final memory.desc md; // owned by the plan
    final Shape shape;    // logical (batched) shape: the descriptor's dims
    final long bytes;
    final OneDnnBuffer aliasOf;
    final Store store;       // non-null: a parameter view
    final long storeOffset;  // element offset in the store

    private OneDnnBuffer(String name, memory.desc md, OneDnnBuffer aliasOf, Store store, long storeOffset) {
        this.name = name;
        this.md = md;
        this.shape = shapeOf(md);
        this.bytes = md.get_size();
        this.aliasOf = aliasOf;
        this.store = store;
        this.storeOffset = storeOffset;
    }

    static OneDnnBuffer allocated(String name, memory.desc md) {
        return new OneDnnBuffer(name, md, null, null, 0);
    }

    static OneDnnBuffer alias(String name, OneDnnBuffer of, memory.desc md) {
        OneDnnBuffer root = of;
        while (root.aliasOf != null) {
            root = root.aliasOf;
        }
        if (root.store != null) {
            return new OneDnnBuffer(name, md, null, root.store, root.storeOffset);
        }
        return new OneDnnBuffer(name, md, root, null, 0);
    }

    static OneDnnBuffer parameter(String name, memory.desc md, Store store, long offset) {
        return new OneDnnBuffer(name, md, null, store, offset);
    }

    /** True when this buffer shares its bytes with {@code other} (same root allocation). */
    boolean sameMemory(OneDnnBuffer other) {
        return root() == other.root() || (store != null && store == other.store && storeOffset == other.storeOffset);
    }

    OneDnnBuffer root() {
        return aliasOf == null ? this : aliasOf;
    }

    static Shape shapeOf(memory.desc md) {
        long[] d = OneDnnMd.dims(md);
        int[] i = new int[d.length];
        for (int k = 0; k < d.length; k++) {
            i[k] = Math.toIntExact(d[k]);
        }
        return Shape.of(i);
    }

    @Override
    public String toString() {
        return name + " " + OneDnnMd.describe(md);
    }
}
