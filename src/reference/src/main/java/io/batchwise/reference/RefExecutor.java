package io.batchwise.reference;

import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Input;
import io.batchwise.loss.HostLoss;
import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.Targets;
import io.batchwise.spi.ExecutorTensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link RefPlan} bound to memory. The constructor allocates, per node, its output
 * {@code (N, ...)}, in training plans its output gradient and its workspaces, exactly the buffers
 * of {@link RefPlan#memory()}; {@link #close()} (idempotent) frees them. Parameters are not
 * copied: kernels read and write the bound {@link Parameters}' flat buffers at the
 * {@link ParameterLayout} offsets.
 *
 * <p>Forward runs the nodes in topological order and rounds each output to the plan's type.
 * Backward zeroes every activation gradient but the output's, then runs the nodes from the output
 * back: each adds into its inputs' gradients (so several consumers sum) and into the parameter
 * gradients (zeroed first in {@link GradientMode#OVERWRITE}).
 */
final class RefExecutor implements Executor {
    private final RefPlan plan;
    private final Parameters parameters;
    private final RefTensor values;
    private final RefTensor gradients;
    private final RefTensor state;
    /** Per node index: its output, and its output gradient (null where none is planned). */
    private final RefTensor[] dst;
    private final RefTensor[] diff;
    /** Per node index: what its kernels see; null for inputs. */
    private final RefNodeTensors[] nodes;
    private final ExecutorTensors<RefTensor> ends;
    /** Per node index: its trainable and its state slots, rounded after the node runs. */
    private final List<List<ParameterLayout.Slot>> slots = new ArrayList<>();
    private final List<AutoCloseable> owned = new ArrayList<>();
    /** Null before the first forward; then whether the last forward was a training pass. */
    private Boolean lastPassTraining;
    private boolean closed;

    RefExecutor(RefPlan plan, Parameters parameters) {
        this.plan = plan;
        this.parameters = parameters;
        this.values = own(parameters, parameters.values(), "values");
        this.gradients = own(parameters, parameters.gradients(), "gradients");
        this.state = own(parameters, parameters.state(), "state");
        checkParameters(plan, parameters, values);
        int count = plan.graph().nodes().size();
        dst = new RefTensor[count];
        diff = new RefTensor[count];
        nodes = new RefNodeTensors[count];
        try {
            allocate();
        } catch (OutOfMemoryError e) {
            // The reference backend's device is the Java heap: report it the way every backend does,
            // so that the trainer can halve the micro-batch and retry.
            freeAll();
            long step = plan.memory().totalBytes() - plan.memory().sharedBytes();
            throw new DeviceOutOfMemoryException("the Java heap cannot hold the " + step + " bytes of a reference step at"
                    + " micro-batch " + plan.microBatch(), step, e);
        } catch (RuntimeException e) {
            freeAll();
            throw e;
        }
        int out = plan.graph().output().index();
        this.ends = new ExecutorTensors<>(plan, n -> dst[n.index()], n -> diff[n.index()], dst[out],
                plan.options().training() ? diff[out] : null);
    }

    private static RefTensor own(Parameters p, Tensor t, String what) {
        if (!(t instanceof RefTensor r)) {
            throw new IllegalArgumentException("parameters were created by backend '" + p.backend().name()
                    + "'; a reference plan binds parameters from a reference backend (their " + what + " are a "
                    + t.getClass().getSimpleName() + ")");
        }
        if (r.isClosed()) {
            throw new IllegalStateException("the parameters are closed");
        }
        return r;
    }

    private static void checkParameters(RefPlan plan, Parameters p, RefTensor values) {
        if (values.dataType() != plan.options().dataType()) {
            throw new IllegalArgumentException("parameters are " + values.dataType() + " but the plan computes in "
                    + plan.options().dataType());
        }
        plan.layout.requireFits(p.layout());
    }

    private void allocate() {
        MemoryTracker tracker = plan.backend.memory();
        var type = plan.options().dataType();
        int b = plan.microBatch();
        for (Node n : plan.graph().nodes()) {
            int i = n.index();
            boolean input = n.layer() instanceof Input;
            dst[i] = track(new RefTensor(n.outputShape().withBatch(b), type, tracker,
                    input ? "input '" + n.name() + "'" : "output of " + n.describe()));
            if (plan.hasGradient(n)) {
                diff[i] = track(new RefTensor(n.outputShape().withBatch(b), type, tracker, "gradient of " + n.describe()));
            }
            slots.add(plan.layout.slots().stream().filter(s -> s.node().name().equals(n.name())).toList());
        }
        for (Node n : plan.graph().nodes()) {
            RefOp op = plan.ops.get(n.index());
            if (op == null) {
                continue;
            }
            Map<String, RefTensor> tensors = new HashMap<>();
            Map<String, RefIndices> indices = new HashMap<>();
            if (plan.options().training()) {
                for (RefOp.Workspace w : op.workspaces()) {
                    if (w.indices()) {
                        indices.put(w.what(), track(new RefIndices(w.size(), tracker)));
                    } else {
                        tensors.put(w.what(), track(new RefTensor(Shape.of(w.size()), type, tracker,
                                w.what() + " of " + n.describe())));
                    }
                }
            }
            int k = n.inputs().size();
            RefTensor[] src = new RefTensor[k];
            RefTensor[] diffSrc = new RefTensor[k];
            for (int j = 0; j < k; j++) {
                int from = plan.graph().node(n.inputs().get(j)).index();
                src[j] = dst[from];
                diffSrc[j] = diff[from];
            }
            nodes[n.index()] = new RefNodeTensors(src, diffSrc, dst[n.index()], diff[n.index()], values, gradients, state,
                    tensors, indices);
        }
    }

    private <T extends AutoCloseable> T track(T buffer) {
        owned.add(buffer);
        return buffer;
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
        return ends.output();
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
        checkParametersOpen();
        for (Node n : plan.graph().nodes()) {
            RefOp op = plan.ops.get(n.index());
            if (op == null) {
                continue;
            }
            op.forward(nodes[n.index()], pass);
            dst[n.index()].round();
            if (pass.training()) {
                for (ParameterLayout.Slot s : slots.get(n.index())) {
                    if (!s.spec().trainable()) {
                        state.round(s.offset(), s.size()); // BatchNorm's running statistics
                    }
                }
            }
        }
        lastPassTraining = pass.training();
    }

    @Override
    public LossResult loss(Loss loss, Targets targets, double scale) {
        checkOpen();
        Node out = plan.graph().output();
        RefTensor grad = diff[out.index()];
        // An inference plan has no gradient buffer: the loss still counts, its gradient is dropped.
        double[] gradOut = grad != null ? grad.data : new double[dst[out.index()].data.length];
        LossResult r = HostLoss.compute(loss, out.outputShape(), plan.microBatch(), dst[out.index()].data, targets,
                scale, gradOut);
        if (grad != null) {
            grad.round();
        }
        return r;
    }

    @Override
    public void batchNormStatistics(String node, double[] mean, double[] variance) {
        checkOpen();
        RefNodeTensors t = batchNorm(node);
        RefTensor stats = t.workspace("stats");
        if (stats == null || !Boolean.TRUE.equals(lastPassTraining)) {
            throw new IllegalStateException("'" + node + "' has batch statistics only after a training forward pass");
        }
        double eps = ((io.batchwise.layer.BatchNorm) plan.graph().node(node).layer()).epsilon();
        for (int k = 0; k < mean.length; k++) {
            mean[k] = stats.data[k];
            double invstd = stats.data[mean.length + k];
            variance[k] = 1 / (invstd * invstd) - eps;
        }
    }

    @Override
    public void fixBatchNorm(String node, io.batchwise.backend.BatchNormFix fix) {
        checkOpen();
        batchNorm(node).batchNormFix = fix;
    }

    private RefNodeTensors batchNorm(String node) {
        Node n = plan.graph().node(node);
        if (!(n.layer() instanceof io.batchwise.layer.BatchNorm)) {
            throw new IllegalArgumentException(n.describe() + " is not a BatchNorm node");
        }
        return nodes[n.index()];
    }

    @Override
    public void backward(GradientMode mode) {
        checkOpen();
        checkParametersOpen();
        checkTraining("backward");
        if (lastPassTraining == null) {
            throw new IllegalStateException("backward needs a forward pass first");
        }
        int output = plan.graph().output().index();
        if (mode == GradientMode.OVERWRITE) {
            gradients.zero();
        }
        for (int i = 0; i < diff.length; i++) {
            if (diff[i] != null && i != output) {
                diff[i].zero();
            }
        }
        for (int i = output; i >= 0; i--) {
            RefOp op = plan.ops.get(i);
            if (op == null) {
                continue;
            }
            RefNodeTensors t = nodes[i];
            op.backward(t, lastPassTraining);
            for (RefTensor d : t.diffSrc) {
                if (d != null) {
                    d.round();
                }
            }
            for (ParameterLayout.Slot s : slots.get(i)) {
                if (s.spec().trainable()) {
                    gradients.round(s.offset(), s.size());
                }
            }
        }
    }

    private void checkTraining(String what) {
        if (!plan.options().training()) {
            throw new IllegalStateException(what + " needs a training plan; this one was compiled for inference");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the executor is closed");
        }
    }

    private void checkParametersOpen() {
        if (values.isClosed() || gradients.isClosed() || state.isClosed()) {
            throw new IllegalStateException("the bound parameters are closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            freeAll();
            plan.unbound(this);
        }
    }

    private void freeAll() {
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        owned.clear();
    }
}
