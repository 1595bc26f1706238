package io.batchwise.onednn;

import org.bytedeco.dnnl.memory;

/**
 * Maps a logical (row-major) element index to the element offset in a blocked oneDNN layout,
 * the way oneDNN itself addresses blocked memory: inner blocks split each dimension's index from
 * the innermost block outwards, the rest is multiplied by the outer strides. Plain layouts map to
 * themselves. Pure Java over numbers copied out of the descriptor once.
 */
final class OneDnnLayout {
    private final long[] dims;
    private final long[] strides;
    private final long[] blocks;
    private final int[] blockDims;
    private final long offset0;
    private final boolean plain;
    private final long elements;

    OneDnnLayout(memory.desc md) {
        this.dims = OneDnnMd.dims(md);
        this.strides = OneDnnMd.strides(md);
        this.blocks = OneDnnMd.innerBlocks(md);
        long[] idxs = OneDnnMd.innerIndices(md);
        this.blockDims = new int[idxs.length];
        for (int i = 0; i < idxs.length; i++) {
            blockDims[i] = (int) idxs[i];
        }
        this.offset0 = md.get_submemory_offset();
        this.plain = OneDnnMd.isPlain(md);
        this.elements = OneDnnMd.product(dims);
    }

    boolean plain() {
        return plain;
    }

    long elements() {
        return elements;
    }

    long[] dims() {
        return dims.clone();
    }

    /** Element offset of logical element {@code index}. */
    long offset(long index) {
        if (plain) {
            return index;
        }
        int n = dims.length;
        long[] idx = new long[n];
        long r = index;
        for (int i = n - 1; i >= 0; i--) {
            idx[i] = r % dims[i];
            r /= dims[i];
        }
        long inner = 0;
        long mult = 1;
        for (int k = blocks.length - 1; k >= 0; k--) {
            int d = blockDims[k];
            inner += (idx[d] % blocks[k]) * mult;
            idx[d] /= blocks[k];
            mult *= blocks[k];
        }
        long off = offset0 + inner;
        for (int i = 0; i < n; i++) {
            off += idx[i] * strides[i];
        }
        return off;
    }
}
