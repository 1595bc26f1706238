package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_SCALES;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_0;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;

import io.batchwise.backend.Tensor;
import io.batchwise.backend.VectorOps;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * {@link VectorOps} as oneDNN primitives over flat float32 tensors of this backend:
 * {@code y = a x + b y} is one binary add with run-time scales ({@code dst = b * src0 + a * src1}, in
 * place on {@code y}), so a changing learning rate needs no new primitive; {@code sum of x^2} is a
 * batched matmul of x's first {@code R L} elements, as R rows {@code (1, L)} with themselves as columns
 * {@code (L, 1)}, the R dot products and the few tail elements summed on the host (oneDNN's reduction
 * primitive has only a reference kernel for whole-vector sums; one {@code (1, n) x (n, 1)} product spreads
 * poorly over threads: 37 us against 21 us for R = 32 on the MLP's 235,146 gradients, 2 threads, hot cache).
 * Primitives are made once per vector length and
 * kept for the life of the process (a trainer uses one length). Tensors that are not plain 1-d
 * oneDNN tensors (views, wrappers) go to {@link VectorOps#host()}.
 */
final class OneDnnVectors implements VectorOps {
    private final OneDnnRuntime rt;
    /** Rows of the batched sum of squares: 8 to 64 measured level, 1 row 1.7x slower (see the class comment). */
    private static final int SQUARES_ROWS = 32;
    private final Map<Long, Kernels> kernels = new HashMap<>();
    /** Argument maps per (y, x) pair: a trainer reuses a handful; bounded so dropped tensors do not pile up. */
    private final Map<List<Object>, IntMemoryMap> args = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<Object>, IntMemoryMap> e) {
            if (size() > 16) {
                e.getValue().releaseReference();
                return true;
            }
            return false;
        }
    };

    OneDnnVectors(OneDnnRuntime rt) {
        this.rt = rt;
    }

    /** The primitives for vectors of {@code n} elements and their scalar operands. */
    private final class Kernels {
        final binary axpby;
        /** axpby with two linear post-ops, + 2^-80 then - 2^-80: {@link VectorOps#axpbyFlushed}. */
        final binary axpbyFlushed;
        /** sum x^2 over the first rows x length elements: {rows, 1, length} x {rows, length, 1}; null if only ref. */
        final matmul squares;
        final int rows;
        final long length;
        final memory.desc row;
        final memory.desc column;
        final FloatPointer scale0 = keep(new FloatPointer(1));
        final FloatPointer scale1 = keep(new FloatPointer(1));
        final memory scale0Mem;
        final memory scale1Mem;
        final memory sumMem;
        final FloatPointer sum; // (rows) dot products
        final float[] tail; // x[rows * length ..) read to the host, fewer than rows elements

        Kernels(long n) {
            memory.desc vec = keep(OneDnnMd.plain(n));
            memory.desc one = keep(OneDnnMd.plain(1));
            axpby = scaledAdd(vec, false);
            axpbyFlushed = scaledAdd(vec, true);
            rows = n >= SQUARES_ROWS * 32L ? SQUARES_ROWS : 1;
            length = n / rows;
            tail = new float[(int) (n - rows * length)];
            row = keep(new memory.desc(new long[] {rows, 1, length}, memory.data_type.f32, new long[] {length, length, 1}));
            column = keep(new memory.desc(new long[] {rows, length, 1}, memory.data_type.f32, new long[] {length, 1, 1}));
            memory.desc dots = keep(new memory.desc(new long[] {rows, 1, 1}, memory.data_type.f32, new long[] {1, 1, 1}));
            matmul.primitive_desc mpd = keep(new matmul.primitive_desc(rt.engine, row, column, dots, keep(new primitive_attr()), false));
            squares = mpd.impl_info_str().getString().startsWith("ref") ? null : keep(new matmul(mpd));
            sum = keep(new FloatPointer(rows));

            scale0Mem = keep(new memory(one, rt.engine, scale0));
            scale1Mem = keep(new memory(one, rt.engine, scale1));
            sumMem = keep(new memory(dots, rt.engine, sum));
        }
    }

    /** {@code dst = s0 src0 + s1 src1} with run-time scales; with {@code flush}, then {@code + 2^-80} and {@code - 2^-80}. */
    private binary scaledAdd(memory.desc vec, boolean flush) {
        primitive_attr a = keep(new primitive_attr());
        a.set_scales_mask(DNNL_ARG_SRC_0, 0);
        a.set_scales_mask(DNNL_ARG_SRC_1, 0);
        if (flush) {
            post_ops p = keep(new post_ops());
            p.append_eltwise(algorithm.eltwise_linear, 1f, FLUSH);
            p.append_eltwise(algorithm.eltwise_linear, 1f, -FLUSH);
            a.set_post_ops(p);
        }
        return keep(new binary(keep(new binary.primitive_desc(rt.engine, algorithm.binary_add, vec, vec, vec, a, false))));
    }

    /** Cached objects outlive any PointerScope open in the caller. */
    private static <P extends Pointer> P keep(P p) {
        p.retainReference();
        return p;
    }

    private Kernels kernels(long n) {
        return kernels.computeIfAbsent(n, Kernels::new);
    }

    /** {@code t}'s memory when it is a plain 1-d tensor of this backend, else null. */
    private static memory flat(Tensor t) {
        return t instanceof OneDnnTensor o && o.layout().plain() && o.desc().get_ndims() == 1 ? o.memory() : null;
    }

    @Override
    public void axpby(Tensor y, double a, Tensor x, double b) {
        axpby(y, a, x, b, false);
    }

    @Override
    public void axpbyFlushed(Tensor y, double a, Tensor x, double b) {
        axpby(y, a, x, b, true);
    }

    private synchronized void axpby(Tensor y, double a, Tensor x, double b, boolean flush) {
        memory my = flat(y);
        memory mx = flat(x);
        if (my == null || mx == null || y.size() != x.size()) {
            if (flush) {
                VectorOps.host().axpbyFlushed(y, a, x, b);
            } else {
                VectorOps.host().axpby(y, a, x, b);
            }
            return;
        }
        Kernels k = kernels(y.size());
        k.scale0.put(0, (float) b);
        k.scale1.put(0, (float) a);
        IntMemoryMap m = args.computeIfAbsent(List.of(new Identity(y), new Identity(x)), key -> {
            IntMemoryMap map = keep(new IntMemoryMap());
            map.put(DNNL_ARG_SRC_0, my);
            map.put(DNNL_ARG_SRC_1, mx);
            map.put(DNNL_ARG_DST, my);
            map.put(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC_0, k.scale0Mem);
            map.put(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC_1, k.scale1Mem);
            return map;
        });
        (flush ? k.axpbyFlushed : k.axpby).execute(rt.stream, m);
        rt.stream._wait();
    }

    @Override
    public synchronized double sumOfSquares(Tensor x) {
        memory mx = flat(x);
        Kernels k = mx == null ? null : kernels(x.size());
        if (k == null || k.squares == null) {
            return VectorOps.host().sumOfSquares(x);
        }
        long address = ((OneDnnTensor) x).address();
        IntMemoryMap m = args.computeIfAbsent(List.of(new Identity(x)), key -> {
            IntMemoryMap map = keep(new IntMemoryMap());
            // The map keeps its own (shared) handles: the Java views are freed now, not kept past the map's eviction.
            try (memory row = new memory(k.row, rt.engine, OneDnnTensor.at(address));
                 memory column = new memory(k.column, rt.engine, OneDnnTensor.at(address))) {
                map.put(DNNL_ARG_SRC, row);
                map.put(DNNL_ARG_WEIGHTS, column);
            }
            map.put(DNNL_ARG_DST, k.sumMem);
            return map;
        });
        k.squares.execute(rt.stream, m);
        rt.stream._wait();
        double total = 0;
        for (int r = 0; r < k.rows; r++) {
            total += k.sum.get(r);
        }
        if (k.tail.length > 0) {
            x.read((long) k.rows * k.length, k.tail, 0, k.tail.length);
        }
        for (float v : k.tail) {
            total += (double) v * v;
        }
        return total;
    }

    /** Identity, not equality, of tensors as map keys. */
    private record Identity(Object o) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Identity i && i.o == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(o);
        }
    }

}
