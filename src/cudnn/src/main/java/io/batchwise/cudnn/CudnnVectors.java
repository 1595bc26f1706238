package io.batchwise.cudnn;

import io.batchwise.backend.Tensor;
import io.batchwise.backend.UpdateRule;
import io.batchwise.backend.VectorOps;

/**
 * {@link VectorOps} as kernels of {@code native/cuda} over flat float32 tensors of one device, queued on the
 * default stream after the step's calls, so an optimizer step copies nothing to the host:
 * {@code y = a x + b y} is {@code vec_axpby} ({@code vec_axpby_flushed} for decaying momentum), each adaptive
 * rule one fused pass ({@code adam_step}, {@code adagrad_step}, {@code rmsprop_step}, {@code adadelta_step}, the
 * host loop's arithmetic operation for operation), and a sum of squares {@code vec_sum_squares} over a grid fixed
 * by the length, then {@code vec_sum}, in float64: the same bits every time, one double back to the host.
 * Tensors of another backend or device go to {@link VectorOps#host()} (or, for {@link #update}, back to the caller).
 *
 * <p>Stateless apart from its device: the sum of squares keeps its partial sums (at most
 * {@value #SQUARES_BLOCKS} doubles) in the device's {@link CudnnDevice#scratch()}, so a step allocates nothing.
 */
final class CudnnVectors implements VectorOps {
    /** Blocks of the sum of squares at most: one partial sum each, then one block adds them. */
    static final int SQUARES_BLOCKS = 1024;

    private final CudnnDevice device;

    CudnnVectors(CudnnDevice device) {
        this.device = device;
    }

    /** {@code t}'s device address when it is a tensor of this device, else 0. */
    private long address(Tensor t) {
        return t instanceof CudnnTensor c && c.device() == device ? c.address() : 0;
    }

    private static KernelCall.Ptr ptr(long address) {
        return new KernelCall.Ptr(address);
    }

    private void launch(KernelCall call, String label) {
        device.launch(call, label);
        if (CudnnExecutor.SYNC_EACH) {
            device.synchronize(label);
        }
    }

    @Override
    public void axpby(Tensor y, double a, Tensor x, double b) {
        axpby(y, a, x, b, false);
    }

    @Override
    public void axpbyFlushed(Tensor y, double a, Tensor x, double b) {
        axpby(y, a, x, b, true);
    }

    private void axpby(Tensor y, double a, Tensor x, double b, boolean flush) {
        long ay = address(y);
        long ax = address(x);
        if (ay == 0 || ax == 0 || y.size() != x.size()) {
            if (flush) {
                VectorOps.host().axpbyFlushed(y, a, x, b);
            } else {
                VectorOps.host().axpby(y, a, x, b);
            }
            return;
        }
        long n = y.size();
        launch(new KernelCall(flush ? Kernel.VEC_AXPBY_FLUSHED : Kernel.VEC_AXPBY, n, new Object[] {n, (float) a, ptr(ax),
            (float) b, ptr(ay)}), flush ? "optimizer axpby (flushed)" : "optimizer axpby");
    }

    /** {@code sum of x_i^2} in float64: {@code min(ceil(n / 256), 1024)} block sums, then their sum, in the device's scratch. */
    @Override
    public double sumOfSquares(Tensor x) {
        long ax = address(x);
        if (ax == 0) {
            return VectorOps.host().sumOfSquares(x);
        }
        long n = x.size();
        long threads = Math.min(n, (long) SQUARES_BLOCKS * Kernel.BLOCK);
        int blocks = KernelCall.blocks(threads);
        synchronized (device) {
            long partials = device.scratch(); // (blocks) partial sums, then the total
            long total = partials + 8L * blocks;
            launch(new KernelCall(Kernel.VEC_SUM_SQUARES, threads, new Object[] {n, ptr(ax), ptr(partials)}), "sum of squares");
            launch(new KernelCall(Kernel.VEC_SUM, Kernel.BLOCK, new Object[] {(long) blocks, ptr(partials), ptr(total)}),
                    "sum of squares (total)");
            device.synchronize("a sum of squares of " + n + " values");
            double[] out = new double[1];
            device.downloadDoubles(total, out, 0, 1);
            return out[0];
        }
    }

    /** One fused pass of {@code rule} over device tensors of equal size; false for any other tensors. */
    @Override
    public boolean update(UpdateRule rule, Tensor w, Tensor g, Tensor[] state) {
        if (state.length != rule.slots()) {
            throw new IllegalArgumentException(rule.getClass().getSimpleName() + " takes " + rule.slots() + " state tensors, got "
                    + state.length);
        }
        long n = w.size();
        long aw = address(w);
        long ag = address(g);
        long[] as = new long[state.length];
        boolean mine = aw != 0 && ag != 0 && g.size() == n;
        for (int i = 0; i < state.length; i++) {
            as[i] = address(state[i]);
            mine &= as[i] != 0 && state[i].size() == n;
        }
        if (!mine) {
            return false;
        }
        if (rule instanceof UpdateRule.Adam r) {
            launch(new KernelCall(Kernel.ADAM_STEP, n, new Object[] {n, r.beta1(), r.beta2(), r.a1(), r.a2(), r.stepSize(),
                r.invSqrtC2(), r.eps(), r.keep(), r.decay(), ptr(aw), ptr(ag), ptr(as[0]), ptr(as[1])}), "Adam step");
        } else if (rule instanceof UpdateRule.Adagrad r) {
            launch(new KernelCall(Kernel.ADAGRAD_STEP, n, new Object[] {n, r.lr(), r.weightDecay(), r.eps(), r.first() ? 1 : 0,
                r.initial(), ptr(aw), ptr(ag), ptr(as[0])}), "Adagrad step");
        } else if (rule instanceof UpdateRule.RmsProp r) {
            long buf = r.withMomentum() ? as[1] : 0;
            long avg = r.centered() ? as[r.withMomentum() ? 2 : 1] : 0;
            launch(new KernelCall(Kernel.RMSPROP_STEP, n, new Object[] {n, r.weightDecay(), r.alpha(), r.a1(), r.eps(),
                r.momentum(), r.lr(), ptr(aw), ptr(ag), ptr(as[0]), ptr(buf), ptr(avg)}), "RMSprop step");
        } else if (rule instanceof UpdateRule.Adadelta r) {
            launch(new KernelCall(Kernel.ADADELTA_STEP, n, new Object[] {n, r.weightDecay(), r.rho(), r.r1(), r.eps(), r.lr(),
                ptr(aw), ptr(ag), ptr(as[0]), ptr(as[1])}), "Adadelta step");
        } else {
            return false;
        }
        return true;
    }
}
