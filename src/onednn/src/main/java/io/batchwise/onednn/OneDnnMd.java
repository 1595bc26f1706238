package io.batchwise.onednn;

import io.batchwise.Shape;
import org.bytedeco.dnnl.memory;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_query;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_dims;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_inner_blks;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_inner_idxs;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_strides;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;

/** Memory-descriptor helpers: plain (row-major) and {@code any} descriptors, queries, printing. */
final class OneDnnMd {
    private OneDnnMd() {
    }

    /** Row-major float32 descriptor over {@code dims}: {@code a}, {@code nc}, {@code nchw}, {@code oihw}, ... */
    static memory.desc plain(long... dims) {
        return new memory.desc(dims, memory.data_type.f32, rowMajorStrides(dims));
    }

    /** A descriptor that lets the primitive choose its layout. */
    static memory.desc any(long... dims) {
        return new memory.desc(dims, memory.data_type.f32, memory.format_tag.any);
    }

    /** Row-major descriptor of element type {@code type} over {@code dims}. */
    static memory.desc plain(memory.data_type type, long... dims) {
        return new memory.desc(dims, type, rowMajorStrides(dims));
    }

    /** An {@code any} descriptor of element type {@code type}. */
    static memory.desc any(memory.data_type type, long... dims) {
        return new memory.desc(dims, type, memory.format_tag.any);
    }

    /** Bytes per element of {@code md}'s data type (f32 4, bf16 2, s8/u8 1). */
    static int elementBytes(memory.desc md) {
        return elementBytes(md.get_data_type());
    }

    static int elementBytes(memory.data_type t) {
        int v = t.value;
        if (v == memory.data_type.f32.value || v == memory.data_type.s32.value) {
            return 4;
        }
        if (v == memory.data_type.bf16.value || v == memory.data_type.f16.value) {
            return 2;
        }
        if (v == memory.data_type.s8.value || v == memory.data_type.u8.value) {
            return 1;
        }
        throw new IllegalArgumentException("no element size for oneDNN data type " + t);
    }

    /** Whether {@code md} holds float32 elements (the preset hands out fresh enum objects: compare values). */
    static boolean isF32(memory.desc md) {
        return md.get_data_type().value == memory.data_type.f32.value;
    }

    static boolean isBf16(memory.desc md) {
        return md.get_data_type().value == memory.data_type.bf16.value;
    }

    static boolean sameType(memory.desc a, memory.desc b) {
        return a.get_data_type().value == b.get_data_type().value;
    }

    /**
     * {@code md}'s layout with elements of {@code type}: the same descriptor when the type agrees; for a layout
     * without inner blocks, the same strides; otherwise null (a blocked layout is asked for again with {@code any}).
     */
    static memory.desc retype(memory.desc md, memory.data_type type) {
        if (md.get_data_type().value == type.value) {
            return md;
        }
        if (!blocked(md) || md.get_inner_nblks() != 0 || md.get_submemory_offset() != 0) {
            return null;
        }
        return new memory.desc(dims(md), type, strides(md));
    }

    static long[] rowMajorStrides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    static long[] dims(Shape batched) {
        int[] d = batched.dims();
        long[] l = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            l[i] = d[i];
        }
        return l;
    }

    /**
     * {@code md}'s dims. Read through the C query, which hands out a pointer to the descriptor's own
     * array, rather than the C++ getter, which returns a new vector: every JavaCPP object allocated with
     * a deallocator costs a few microseconds of bookkeeping (it reads the process's resident size), and
     * planning queries dims thousands of times.
     */
    static long[] dims(memory.desc md) {
        return query(md, dnnl_query_dims, md.get_ndims());
    }

    static long[] strides(memory.desc md) {
        return query(md, dnnl_query_strides, md.get_ndims());
    }

    static long[] innerBlocks(memory.desc md) {
        return query(md, dnnl_query_inner_blks, md.get_inner_nblks());
    }

    static long[] innerIndices(memory.desc md) {
        return query(md, dnnl_query_inner_idxs, md.get_inner_nblks());
    }

    /** One slot per thread for the queried array's address; retained, so no enclosing PointerScope frees it. */
    private static final ThreadLocal<PointerPointer<?>> RESULT =
            ThreadLocal.withInitial(() -> new PointerPointer<>(1L).retainReference());

    private static long[] query(memory.desc md, int what, int n) {
        long[] d = new long[n];
        if (n == 0) {
            return d;
        }
        PointerPointer<?> result = RESULT.get();
        int status = dnnl_memory_desc_query(md.get(), what, result);
        if (status != dnnl_success) {
            throw new IllegalStateException("dnnl_memory_desc_query(" + what + ") failed with status " + status);
        }
        LongPointer values = new LongPointer(result.get(0)); // a view: no allocation, nothing to free
        values.get(d, 0, n);
        return d;
    }

    static long[] concatDims(long first, long[] rest, int from) {
        long[] d = new long[1 + rest.length - from];
        d[0] = first;
        System.arraycopy(rest, from, d, 1, rest.length - from);
        return d;
    }

    /**
     * True when {@code md} is dense row-major over its dims with no offset: logical index = element offset (of
     * its own element type: a plain bf16 descriptor is plain too).
     */
    static boolean isPlain(memory.desc md) {
        if (!blocked(md) || md.get_inner_nblks() != 0
                || md.get_submemory_offset() != 0) {
            return false;
        }
        long[] d = dims(md);
        long[] want = rowMajorStrides(d);
        long[] s = strides(md);
        for (int i = 0; i < d.length; i++) {
            if (d[i] > 1 && s[i] != want[i]) {
                return false;
            }
        }
        return md.get_size() == (long) elementBytes(md) * product(d);
    }

    /** The preset returns a fresh enum object per call: compare values, never references. */
    static boolean blocked(memory.desc md) {
        return md.get_format_kind().value == memory.format_kind.blocked.value;
    }

    static long product(long[] d) {
        long p = 1;
        for (long x : d) {
            p *= x;
        }
        return p;
    }

    /** A short layout description, e.g. {@code 128x16x8x8:s[1024,1024,128,16]b[16@1]}. */
    static String describe(memory.desc md) {
        StringBuilder sb = new StringBuilder();
        long[] d = dims(md);
        for (int i = 0; i < d.length; i++) {
            sb.append(i > 0 ? "x" : "").append(d[i]);
        }
        if (!blocked(md)) {
            return sb.append(':').append(md.get_format_kind()).toString();
        }
        String type = isF32(md) ? "" : ":" + md.get_data_type();
        if (isPlain(md)) {
            return sb.append(":plain").append(type).toString();
        }
        long[] s = strides(md);
        sb.append(":s[");
        for (int i = 0; i < d.length; i++) {
            sb.append(i > 0 ? "," : "").append(s[i]);
        }
        sb.append(']');
        long[] blks = innerBlocks(md);
        long[] idxs = innerIndices(md);
        if (blks.length > 0) {
            sb.append("b[");
            for (int i = 0; i < blks.length; i++) {
                sb.append(i > 0 ? "," : "").append(blks[i]).append('@').append(idxs[i]);
            }
            sb.append(']');
        }
        if (md.get_submemory_offset() != 0) {
            sb.append("+").append(md.get_submemory_offset());
        }
        return sb.append(type).toString();
    }
}
