package io.batchwise.cudnn;

import java.util.Arrays;

/**
 * One kernel launch as data: the kernel, how many threads it needs (one per element; the launch
 * caps the grid and the kernels loop grid-stride) and its arguments, checked against the kernel's
 * parameter types. {@link #of} maps the kernel-backed {@link CudnnOp}s to their launches; CudaDevice
 * launches them with cuLaunchKernel, and the tests run the same launches through Java ports of the
 * kernels, so the argument order is checked without a GPU.
 *
 * <p>Argument types: {@code Long} for {@code long long} and {@code unsigned long long}, {@code Integer}
 * for {@code int}, {@code Float}, {@code Double}, and {@link Ptr} for device pointers ({@code Ptr(0)}: null).
 */
record KernelCall(Kernel kernel, long threads, Object[] args) {

    /** A device address passed as a pointer argument. */
    record Ptr(long address) {
    }

    KernelCall {
        if (args.length != kernel.args.size()) {
            throw new IllegalArgumentException(kernel.symbol + " takes " + kernel.args.size() + " arguments, got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            Kernel.Arg a = kernel.args.get(i);
            Object v = args[i];
            boolean ok = switch (a) {
                case I32 -> v instanceof Integer;
                case I64, U64 -> v instanceof Long;
                case F32 -> v instanceof Float;
                case F64 -> v instanceof Double;
                case PTR -> v instanceof Ptr;
            };
            if (!ok) {
                throw new IllegalArgumentException(kernel.symbol + " argument " + i + " must be " + a.c + ", got "
                        + (v == null ? "null" : v.getClass().getSimpleName() + " " + v));
            }
        }
    }

    /** The launch of a kernel-backed op, or null for ops cuDNN or cuBLAS run. */
    static KernelCall of(CudnnOp op, long[] addr, CudnnDevice.Run run) {
        if (op instanceof CudnnOp.Axpby o) {
            return new KernelCall(Kernel.VEC_AXPBY.forType(same(o.x(), o.y())), o.n(), new Object[] {o.n(), o.a(), ptr(addr, o.x()),
                o.beta().value(run.mode()), ptr(addr, o.y())});
        } else if (op instanceof CudnnOp.Convert o) {
            return o.dst().bf16()
                    ? new KernelCall(Kernel.CONVERT_F32_BF16, o.n(), new Object[] {o.n(), ptr(addr, o.src()), ptr(addr, o.dst())})
                    : new KernelCall(Kernel.CONVERT_BF16_F32, o.n(), new Object[] {o.n(), ptr(addr, o.src()),
                        o.beta().value(run.mode()), ptr(addr, o.dst())});
        } else if (op instanceof CudnnOp.Mul o) {
            return new KernelCall(Kernel.VEC_MUL.forType(same(o.x(), same(o.z(), o.y()))), o.n(), new Object[] {o.n(),
                ptr(addr, o.x()), ptr(addr, o.z()), o.beta().value(run.mode()), ptr(addr, o.y())});
        } else if (op instanceof CudnnOp.Fill o) {
            return new KernelCall(Kernel.VEC_FILL.forType(o.y()), o.n(), new Object[] {o.n(), o.value(), ptr(addr, o.y())});
        } else if (op instanceof CudnnOp.SliceCopy o) {
            return new KernelCall(Kernel.SLICE_COPY.forType(same(o.src(), o.dst())), o.outer() * o.block(), new Object[] {o.outer(),
                o.block(), ptr(addr, o.src()), o.srcStride(), o.srcOffset(), ptr(addr, o.dst()), o.dstStride(), o.dstOffset(),
                o.beta().value(run.mode())});
        } else if (op instanceof CudnnOp.DropoutMask o) {
            if (!run.pass().contiguous()) { // the kernel keys sample n by firstSample + n
                throw new UnsupportedOperationException("cudnn: node '" + o.node() + "' is Dropout and this pass's samples"
                        + " are not contiguous in the effective batch (a worker's share of a step on several machines);"
                        + " the CUDA mask kernel takes contiguous positions only: run these workers on onednn or reference");
            }
            long key = io.batchwise.layer.DropoutMask.nodeKey(run.pass().seed(), o.node());
            float kept = (float) (1.0 / (1.0 - o.rate()));
            long n = o.samples() * o.perSample();
            return new KernelCall(Kernel.DROPOUT_MASK.forType(o.mask()), n, new Object[] {n, o.perSample(), key, run.pass().firstSample(),
                o.rate(), kept, ptr(addr, o.mask())});
        } else if (op instanceof CudnnOp.ActForward o && !o.act().cudnn()) {
            CudnnBuffer t = same(o.x(), o.y());
            return o.act() == CudnnOp.Act.LEAKY_RELU
                    ? new KernelCall(Kernel.LEAKY_RELU_FORWARD.forType(t), o.elements(), new Object[] {o.elements(), o.coef(),
                        ptr(addr, o.x()), ptr(addr, o.y())})
                    : new KernelCall(Kernel.GELU_FORWARD.forType(t), o.elements(), new Object[] {o.elements(), ptr(addr, o.x()),
                        ptr(addr, o.y())});
        } else if (op instanceof CudnnOp.ActBackward o && !o.act().cudnn()) {
            float beta = o.beta().value(run.mode());
            CudnnBuffer t = same(o.x(), same(o.dy(), o.dx()));
            return o.act() == CudnnOp.Act.LEAKY_RELU
                    ? new KernelCall(Kernel.LEAKY_RELU_BACKWARD.forType(t), o.elements(), new Object[] {o.elements(), o.coef(),
                        ptr(addr, o.x()), ptr(addr, o.dy()), beta, ptr(addr, o.dx())})
                    : new KernelCall(Kernel.GELU_BACKWARD.forType(t), o.elements(), new Object[] {o.elements(), ptr(addr, o.x()),
                        ptr(addr, o.dy()), beta, ptr(addr, o.dx())});
        } else if (op instanceof CudnnOp.BatchNormCorrection o) {
            // One block per channel: c x BLOCK threads.
            return new KernelCall(Kernel.BATCH_NORM_EXACT_CORRECTION.forType(same(o.x(), same(o.dy(), o.dx()))),
                    (long) o.c() * Kernel.BLOCK, new Object[] {(long) o.n(),
                (long) o.c(), (long) o.hw(), ptr(addr, o.x()), ptr(addr, o.dy()), ptr(addr, o.gamma()), ptr(addr, o.mean()),
                ptr(addr, o.invStd()), ptr(addr, o.meanDy()), ptr(addr, o.meanDyXhat()), ptr(addr, o.dx())});
        } else if (op instanceof CudnnOp.CrossEntropyLoss o) {
            return new KernelCall(Kernel.SOFTMAX_CROSS_ENTROPY, o.batch(), new Object[] {(long) o.batch(), o.classes(),
                o.smoothing(), run.lossScale(), ptr(addr, o.logits()), ptr(addr, o.labels()), ptr(addr, o.gradient()),
                ptr(addr, o.losses()), ptr(addr, o.correct())});
        } else if (op instanceof CudnnOp.SquaredErrorLoss o) {
            return new KernelCall(Kernel.SQUARED_ERROR, o.batch(), new Object[] {(long) o.batch(), o.per(), run.lossScale(),
                ptr(addr, o.output()), ptr(addr, o.targets()), ptr(addr, o.gradient()), ptr(addr, o.losses())});
        }
        return null;
    }

    /** {@code b}, checked to have {@code a}'s element type: a kernel reads and writes its activations in one type. */
    private static CudnnBuffer same(CudnnBuffer a, CudnnBuffer b) {
        if (a.type != b.type) {
            throw new IllegalStateException("a kernel over " + a + " and " + b + ": activations of two types");
        }
        return b;
    }

    private static Ptr ptr(long[] addr, CudnnBuffer b) {
        return new Ptr(addr[b.index]);
    }

    /** Blocks of {@link Kernel#BLOCK} threads for {@code threads} threads, capped (the kernels loop grid-stride). */
    static int blocks(long threads) {
        long b = (threads + Kernel.BLOCK - 1) / Kernel.BLOCK;
        return (int) Math.max(1, Math.min(b, 65_535));
    }

    @Override
    public String toString() {
        return kernel.symbol + Arrays.toString(args);
    }
}
