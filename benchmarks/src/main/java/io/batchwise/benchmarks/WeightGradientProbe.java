package io.batchwise.benchmarks;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.stream;

/**
 * One 3x3 convolution's weight gradient alone, straight on oneDNN (issue 20: why resnet-small's bf16 step gains little
 * on it): for source/gradient type bf16 or f32, every combination of diff_weights type (f32, and bf16 for bf16 inputs)
 * and source layout (oneDNN's choice after the forward, or channels-last), the implementation oneDNN picks and the
 * median of 21 single executions on random data; with {@code cold} a 64 MiB array is touched before each, so the source and gradient
 * come from memory, as in a training step.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.batchwise.benchmarks.WeightGradientProbe BATCH IN_CH OUT_CH HW STRIDE
 * bf16|f32 [cold]}, e.g. {@code 128 16 32 28 2 bf16 cold} for resnet-small's first strided convolution.
 */
public final class WeightGradientProbe {
    private static final int[] FLUSH = new int[(64 << 20) / 4];

    private WeightGradientProbe() {
    }

    public static void main(String[] a) {
        if (a.length < 6) {
            throw new IllegalArgumentException("usage: WeightGradientProbe BATCH IN_CH OUT_CH HW STRIDE bf16|f32 [cold]");
        }
        long b = Long.parseLong(a[0]);
        long ic = Long.parseLong(a[1]);
        long oc = Long.parseLong(a[2]);
        long hw = Long.parseLong(a[3]);
        long stride = Long.parseLong(a[4]);
        boolean bf16 = a[5].equals("bf16");
        boolean cold = a.length > 6 && a[6].equals("cold");
        memory.data_type dt = bf16 ? memory.data_type.bf16 : memory.data_type.f32;
        long[] src = {b, ic, hw, hw};
        long[] wei = {oc, ic, 3, 3};
        long[] dst = {b, oc, hw / stride, hw / stride};
        long[] strides = {stride, stride};
        long[] dilates = {0, 0};
        long[] pad = {1, 1};
        engine eng = new engine(engine.kind.cpu, 0);
        stream s = new stream(eng);
        convolution_forward.primitive_desc fwd = new convolution_forward.primitive_desc(eng,
                org.bytedeco.dnnl.global.dnnl.prop_kind.forward_training, org.bytedeco.dnnl.global.dnnl.algorithm.convolution_direct,
                any(src, dt), any(wei, dt), any(dst, dt), strides, dilates, pad, pad, new primitive_attr(), false);
        memory.data_type[] weightTypes = bf16 ? new memory.data_type[] {memory.data_type.f32, memory.data_type.bf16}
                : new memory.data_type[] {memory.data_type.f32};
        for (memory.data_type wt : weightTypes) {
            for (boolean channelsLast : new boolean[] {false, true}) {
                memory.desc sMd = channelsLast ? new memory.desc(src, dt, memory.format_tag.nhwc) : fwd.src_desc();
                memory.desc dMd = channelsLast ? new memory.desc(dst, dt, memory.format_tag.nhwc) : fwd.dst_desc();
                convolution_backward_weights.primitive_desc pd = new convolution_backward_weights.primitive_desc(eng,
                        org.bytedeco.dnnl.global.dnnl.algorithm.convolution_direct, sMd, any(wei, wt), dMd, strides, dilates,
                        pad, pad, fwd, new primitive_attr(), false);
                try (memory sm = new memory(pd.src_desc(), eng);
                     memory dm = new memory(pd.diff_dst_desc(), eng);
                     memory wm = new memory(pd.diff_weights_desc(), eng);
                     convolution_backward_weights p = new convolution_backward_weights(pd);
                     IntMemoryMap args = new IntMemoryMap()) {
                    fill(sm, pd.src_desc(), bf16, 1);
                    fill(dm, pd.diff_dst_desc(), bf16, 2);
                    args.put(DNNL_ARG_SRC, sm);
                    args.put(DNNL_ARG_DIFF_DST, dm);
                    args.put(DNNL_ARG_DIFF_WEIGHTS, wm);
                    for (int i = 0; i < 20; i++) {
                        p.execute(s, args);
                    }
                    s._wait();
                    double[] ms = new double[21];
                    for (int r = 0; r < ms.length; r++) {
                        if (cold) {
                            for (int i = 0; i < FLUSH.length; i += 16) {
                                FLUSH[i]++;
                            }
                        }
                        long t0 = System.nanoTime();
                        p.execute(s, args);
                        s._wait();
                        ms[r] = (System.nanoTime() - t0) / 1e6;
                    }
                    Arrays.sort(ms);
                    System.out.printf(Locale.ROOT, "%s src/diff_dst %s, diff_weights %s, %s: %s, median %.3f ms%n", a[5],
                            channelsLast ? "nhwc" : "forward's layout", wt, cold ? "cold" : "warm",
                            pd.impl_info_str().getString(), ms[ms.length / 2]);
                }
            }
        }
    }

    /**
     * Uniform values in [-1, 1) from {@code seed} in every element of {@code m} (padding included): oneDNN's fresh
     * memory is uninitialised, and what happens to be there (denormals, NaNs) changes the timings.
     */
    private static void fill(memory m, memory.desc md, boolean bf16, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        org.bytedeco.javacpp.Pointer handle = m.get_data_handle();
        long bytes = md.get_size();
        if (bf16) {
            org.bytedeco.javacpp.ShortPointer v = new org.bytedeco.javacpp.ShortPointer(handle).capacity(bytes / 2);
            for (long i = 0; i < bytes / 2; i++) {
                v.put(i, (short) (Float.floatToIntBits((float) (r.nextDouble() * 2 - 1)) >>> 16));
            }
        } else {
            org.bytedeco.javacpp.FloatPointer v = new org.bytedeco.javacpp.FloatPointer(handle).capacity(bytes / 4);
            for (long i = 0; i < bytes / 4; i++) {
                v.put(i, (float) (r.nextDouble() * 2 - 1));
            }
        }
    }

    private static memory.desc any(long[] dims, memory.data_type type) {
        return new memory.desc(dims, type, memory.format_tag.any);
    }
}
