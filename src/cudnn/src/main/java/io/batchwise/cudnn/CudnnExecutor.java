package io.batchwise.cudnn;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.BatchNormFix;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.HostLoss;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.spi.ExecutorTensors;
import io.batchwise.spi.SharedArena;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A plan bound to memory. Binding takes one arena of {@code plan.memory().arena().bytes()} (allocated
 * here, or the caller's) and gives every buffer its address: a step buffer at the offset its lifetime
 * allows, a view at its root's address, a parameter slot inside the bound {@link Parameters}. A step
 * then only queues the program's calls; forward and backward end by waiting for the device, so that a
 * failure is reported by the call that caused it. Closing frees the arena it allocated.
 *
 * <p>With {@code -Dbatchwise.cudnn.sync=true} the executor waits after every call, so an asynchronous
 * device error names the exact op (slow; for debugging on a GPU).
 */
final class CudnnExecutor implements Executor {
    static final boolean SYNC_EACH = Boolean.getBoolean("batchwise.cudnn.sync");

    private final CudnnPlan plan;
    private final CudnnProgram program;
    private final CudnnDevice device;
    private final Parameters parameters;
    private final long[] addresses;
    private final long ownedArena;      // 0 when the caller's arena is used
    private final long ownedArenaBytes;
    private final List<CudnnOp> backwardOverwrite;
    private final List<CudnnOp> backwardAccumulate;
    private final ExecutorTensors<CudnnTensor> ends;
    private final CudnnTensor output;
    private final CudnnTensor outputGradient;
    /** Exact BatchNorm: the fixed statistics (and sums) by BatchNorm node. */
    private final Map<String, BatchNormFix> fixes = new HashMap<>();
    private boolean closed;

    /** @param shared an arena the caller owns, or null to allocate (and own) one */
    CudnnExecutor(CudnnPlan plan, Parameters parameters, Tensor shared) {
        this.plan = plan;
        this.program = plan.program;
        this.device = plan.device;
        this.parameters = parameters;
        long[] stores = checkParameters(program, parameters, device);
        MemoryPlan.Arena layout = program.memory.arena();
        long base;
        if (shared == null) {
            ownedArenaBytes = Math.max(MemoryPlan.ALIGNMENT, layout.bytes());
            ownedArena = device.allocate(ownedArenaBytes, "the step arena of micro-batch " + program.batch);
            base = ownedArena;
        } else {
            ownedArena = 0;
            ownedArenaBytes = 0;
            base = SharedArena.require(shared, CudnnTensor.class, "cudnn", layout.bytes()).address(); // the caller's: not freed here
        }
        addresses = new long[program.buffers.size()];
        for (CudnnBuffer b : program.buffers) {
            if (b.isParameter()) {
                addresses[b.index] = stores[b.store.ordinal()] + 4 * b.storeOffset;
            } else if (b.aliasOf == null) {
                addresses[b.index] = base + layout.offset(b.name);
            }
        }
        for (CudnnBuffer b : program.buffers) {
            if (!b.isParameter() && b.aliasOf != null) {
                addresses[b.index] = addresses[b.aliasOf.index];
            }
        }
        for (CudnnBuffer b : program.buffers) {
            // The planner pads every step buffer, and the backend's ParameterLayout every parameter slot, so that
            // this holds; a layout change that broke it would hand cuDNN and cuBLAS misaligned pointers silently.
            if (addresses[b.index] % CudnnPlanner.DEVICE_ALIGNMENT != 0) {
                throw new IllegalStateException((b.isParameter() ? "parameter slice " : "step buffer ") + b + " is not "
                        + CudnnPlanner.DEVICE_ALIGNMENT + "-byte aligned (" + (b.isParameter() ? "store" : "arena") + " at 0x"
                        + Long.toHexString(b.isParameter() ? stores[b.store.ordinal()] : base) + ")");
            }
        }
        this.backwardOverwrite = program.backward(GradientMode.OVERWRITE);
        this.backwardAccumulate = program.backward(GradientMode.ACCUMULATE);
        Node out = program.graph.output();
        this.output = view(program.callerOutput, "output '" + out.name() + "'");
        this.outputGradient = program.options.training()
                ? view(program.callerOutputGradient, "gradient of output '" + out.name() + "'") : null;
        this.ends = new ExecutorTensors<>(plan, n -> view(program.callerInputs.get(n.name()), "input '" + n.name() + "'"), n -> {
            CudnnBuffer g = program.diffs.get(n.name());
            return g == null ? null : view(g, "gradient of input '" + n.name() + "'");
        }, output, outputGradient);
    }

    private CudnnTensor view(CudnnBuffer b, String label) {
        return CudnnTensor.view(device, b.shape, b.type, addresses[b.index], label);
    }

    /** Addresses of the values, gradients and state tensors, checked to belong to this graph and device. */
    private static long[] checkParameters(CudnnProgram program, Parameters p, CudnnDevice device) {
        ParameterLayout mine = CudnnBackend.layout(program.graph);
        mine.requireFits(p.layout());
        Tensor[] t = {p.values(), p.gradients(), p.state()};
        long[] a = new long[3];
        for (int i = 0; i < 3; i++) {
            if (!(t[i] instanceof CudnnTensor ct)) {
                throw new IllegalArgumentException("parameters must live in the cudnn backend's memory (create them with"
                        + " CudnnBackend.createParameters), got " + t[i].getClass().getName());
            }
            a[i] = ct.address();
        }
        return a;
    }

    @Override
    public Plan plan() {
        return plan;
    }

    @Override
    public Parameters parameters() {
        return parameters;
    }

    @Override
    public Tensor input(String name) {
        checkOpen();
        return ends.input(name);
    }

    @Override
    public Tensor output() {
        checkOpen();
        return output;
    }

    @Override
    public Tensor outputGradient() {
        checkOpen();
        return ends.outputGradient();
    }

    @Override
    public Tensor inputGradient(String name) {
        checkOpen();
        return ends.inputGradient(name);
    }

    @Override
    public void forward(Pass pass) {
        checkOpen();
        if (pass.training() && !program.options.training()) {
            throw new IllegalStateException("a training pass needs a training plan (PlanOptions.forTraining())");
        }
        run(pass.training() ? program.forwardTraining : program.forwardInference,
                new CudnnDevice.Run(pass, GradientMode.OVERWRITE, 0), "forward");
    }

    @Override
    public LossResult loss(Loss loss, Targets targets, double scale) {
        checkOpen();
        Node out = program.graph.output();
        Shape shape = out.outputShape();
        int b = program.batch;
        if (targets.count() != b) {
            throw new IllegalArgumentException("got targets for " + targets.count() + " samples, the batch holds " + b);
        }
        loss.checkTargets(shape, targets);
        if (!program.options.training()) {
            // No gradient to write: the loss of an inference plan is computed on the host.
            double[] y = output.toDoubles();
            return HostLoss.compute(loss, shape, b, y, targets, scale, new double[y.length]);
        }
        CudnnBuffer logits = program.callerOutput;
        CudnnBuffer grad = program.callerOutputGradient;
        CudnnDevice.Run run = new CudnnDevice.Run(null, GradientMode.OVERWRITE, scale);
        int[] correct = new int[b];
        if (loss instanceof SoftmaxCrossEntropy ce) {
            Targets.Labels labels = (Targets.Labels) targets;
            int[] l = new int[b];
            for (int i = 0; i < b; i++) {
                l[i] = labels.label(i);
            }
            device.uploadInts(addresses[program.lossTargets.index], l, 0, b);
            runOne(new CudnnOp.CrossEntropyLoss(out.name() + " softmax cross-entropy", b, shape.sizeAsInt(), ce.labelSmoothing(),
                    logits, program.lossTargets, grad, program.lossValues, program.lossCorrect), run);
            device.downloadInts(addresses[program.lossCorrect.index], correct, 0, b);
        } else {
            Targets.Values values = (Targets.Values) targets;
            float[] v = new float[Math.toIntExact(b * shape.size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = values.value(i);
            }
            device.upload(addresses[program.lossTargets.index], v, 0, v.length);
            runOne(new CudnnOp.SquaredErrorLoss(out.name() + " squared error", b, shape.size(), logits, program.lossTargets, grad,
                    program.lossValues), run);
        }
        device.synchronize("the loss of micro-batch " + b);
        double[] perSample = new double[b];
        device.downloadDoubles(addresses[program.lossValues.index], perSample, 0, b);
        double sum = 0;
        long hits = 0;
        for (int i = 0; i < b; i++) {
            sum += perSample[i];
            hits += correct[i];
        }
        return new LossResult(sum, b * loss.termsPerSample(shape), b, hits);
    }

    @Override
    public void backward(GradientMode mode) {
        checkOpen();
        if (!program.options.training()) {
            throw new IllegalStateException("backward needs a training plan (PlanOptions.forTraining())");
        }
        run(mode == GradientMode.OVERWRITE ? backwardOverwrite : backwardAccumulate, new CudnnDevice.Run(null, mode, 0),
                "backward (" + mode + ")");
    }

    private void run(List<CudnnOp> ops, CudnnDevice.Run run, String what) {
        for (CudnnOp op : ops) {
            runOne(op, run);
        }
        device.synchronize(what + " of micro-batch " + program.batch);
    }

    private void runOne(CudnnOp op, CudnnDevice.Run run) {
        if (op instanceof CudnnOp.Fail f) {
            throw new IllegalStateException(f.message());
        }
        if (op instanceof CudnnOp.Exact e) {
            op = exact(e);
            if (op == null) {
                return;
            }
        }
        plan.compiled.run(op, addresses, run);
        if (SYNC_EACH) {
            device.synchronize(op.label());
        }
    }

    /**
     * The side of an exact-BatchNorm op to run: {@code fixed}, after writing the fix's values into its inputs, while
     * its node has a fix (with sums, for the backward correction), else {@code normal}.
     */
    private CudnnOp exact(CudnnOp.Exact e) {
        BatchNormFix f = fixes.get(e.node());
        if (f == null || (e.stage() == CudnnOp.FixStage.SUMS && !f.corrects())) {
            return e.normal();
        }
        int c = f.mean().length;
        float[][] values = new float[e.inputs().length][c];
        for (int k = 0; k < c; k++) {
            if (e.stage() == CudnnOp.FixStage.STATISTICS) {
                values[0][k] = (float) f.mean()[k];
                values[1][k] = (float) f.variance()[k];
                values[2][k] = (float) (1 / Math.sqrt(f.variance()[k] + e.epsilon()));
            } else {
                values[0][k] = (float) (f.sumDy()[k] / f.count());
                values[1][k] = (float) (f.sumDyXhat()[k] / f.count());
            }
        }
        // A synchronous copy on the default stream: after the calls queued before it, before the ones after.
        for (int i = 0; i < values.length; i++) {
            device.upload(addresses[e.inputs()[i].index], values[i], 0, c);
        }
        return e.fixed();
    }

    /** The mean and biased variance the last training pass of {@code node} computed: cuDNN saves the mean and 1 / sqrt(var + eps). */
    @Override
    public void batchNormStatistics(String node, double[] mean, double[] variance) {
        checkOpen();
        CudnnOp.Exact e = batchNorm(node);
        int c = mean.length;
        float[] m = new float[c];
        float[] inv = new float[c];
        device.download(addresses[e.inputs()[0].index], m, 0, c);
        device.download(addresses[e.inputs()[2].index], inv, 0, c);
        for (int k = 0; k < c; k++) {
            mean[k] = m[k];
            variance[k] = 1 / ((double) inv[k] * inv[k]) - e.epsilon();
        }
    }

    @Override
    public void fixBatchNorm(String node, BatchNormFix fix) {
        checkOpen();
        batchNorm(node);
        if (fix == null) {
            fixes.remove(node);
        } else {
            fixes.put(node, fix);
        }
    }

    private CudnnOp.Exact batchNorm(String node) {
        CudnnOp.Exact e = program.batchNorms.get(node);
        if (e == null) {
            throw new IllegalArgumentException("'" + node + "' is not a BatchNorm node of a training plan");
        }
        return e;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the executor is closed");
        }
        plan.checkOpen();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ownedArena != 0) {
            device.free(ownedArena, ownedArenaBytes);
        }
        plan.closed(this);
    }
}
