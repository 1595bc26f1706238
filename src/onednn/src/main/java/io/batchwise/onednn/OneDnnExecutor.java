package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;

import io.batchwise.Node;
import io.batchwise.Shape;
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
import io.batchwise.loss.Targets;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.spi.ExecutorTensors;
import io.batchwise.spi.SharedArena;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.PointerScope;

/**
 * A plan bound to memory. Binding allocates one arena of {@code plan.memory().arena().bytes()} (through
 * the backend's tracker) in which every step buffer sits at the offset its lifetime allows, makes
 * views for aliases and parameter slots, and builds one argument map per primitive; a step then only
 * executes primitives. Closing frees all of it.
 */
final class OneDnnExecutor implements Executor {
    /** One bound op of a program. */
    private interface Bound {
        void run(Pass pass);
    }

    private final OneDnnPlan plan;
    private final Parameters parameters;
    private final stream stream;
    private final OneDnnResources res = new OneDnnResources();
    private final Map<OneDnnBuffer, OneDnnTensor> tensors = new IdentityHashMap<>();
    private OneDnnTensor arena;
    private final List<OneDnnTensor> views = new ArrayList<>();
    private final List<Bound> forwardTraining;
    private final List<Bound> forwardInference;
    private final List<Bound> backwardOverwrite;
    private final List<Bound> backwardAccumulate;
    private final ExecutorTensors<OneDnnTensor> ends;
    private final OneDnnTensor output;
    private final OneDnnTensor outputGradient;
    private final float[] lossStage;
    private final double[] lossOut;
    private final double[] lossGrad;
    private boolean closed;
    /** Exact BatchNorm: the statistics each fixed node uses instead of its micro-batch's. */
    private final Map<String, io.batchwise.backend.BatchNormFix> fixes = new java.util.HashMap<>();

    /** @param shared an arena the caller owns, or null to allocate (and own) one */
    OneDnnExecutor(OneDnnPlan plan, Parameters parameters, Tensor shared) {
        this.plan = plan;
        this.parameters = parameters;
        OneDnnRuntime rt = plan.runtime();
        this.stream = rt.stream;
        OneDnnTensor[] stores = checkParameters(plan, parameters);
        try (PointerScope scope = new PointerScope()) {
            // One arena for the step's buffers, at the offsets the memory plan gave them by lifetime.
            MemoryPlan.Arena layout = plan.memory().arena();
            long base;
            if (shared == null) {
                long elements = Math.max(1, layout.bytes() / 4);
                arena = OneDnnTensor.allocate(rt, Shape.of(Math.toIntExact(elements)), OneDnnMd.plain(elements), true,
                        "arena of micro-batch " + plan.microBatch());
                base = arena.address();
            } else { // owned by the caller: not closed here
                base = SharedArena.require(shared, OneDnnTensor.class, "oneDNN", layout.bytes()).address();
            }
            for (OneDnnBuffer b : plan.buffers) {
                if (b.aliasOf == null && b.store == null) {
                    view(rt, b, base + layout.offset(b.name));
                }
            }
            for (OneDnnBuffer b : plan.buffers) {
                if (b.store != null) {
                    view(rt, b, stores[b.store.ordinal()].address() + 4 * b.storeOffset);
                } else if (b.aliasOf != null) {
                    view(rt, b, tensors.get(b.aliasOf).address());
                }
            }
            OneDnnTensor scratch = null;
            if (plan.scratchpadBytes > 0) {
                long at = base + layout.offset("scratchpad");
                scratch = OneDnnTensor.view(rt, Shape.of(1), OneDnnMd.plain(1), OneDnnTensor.at(at), "scratchpad");
                views.add(scratch);
            }
            this.forwardTraining = bind(plan.forwardTraining, scratch);
            this.forwardInference = bind(plan.forwardInference, scratch);
            this.backwardOverwrite = bind(plan.backwardOverwrite, scratch);
            this.backwardAccumulate = bind(plan.backwardAccumulate, scratch);
        } catch (RuntimeException | Error e) {
            freeAll();
            throw e;
        }
        Node out = plan.graph().output();
        this.output = tensors.get(plan.outputs.get(out.name()));
        this.outputGradient = plan.options().training() ? tensors.get(plan.diffs.get(out.name())) : null;
        if (plan.outputStage != null) {
            OneDnnTensor stage = tensors.get(plan.outputStage);
            output.stageThrough(stage);
            if (outputGradient != null) {
                outputGradient.stageThrough(stage);
            }
        }
        this.ends = new ExecutorTensors<>(plan, n -> tensors.get(plan.inputBuffers.get(n.name())), n -> {
            OneDnnBuffer g = plan.diffs.get(n.name());
            return g == null ? null : tensors.get(g);
        }, output, outputGradient);
        int outSize = Math.toIntExact(output.size());
        this.lossStage = new float[outSize];
        this.lossOut = new double[outSize];
        this.lossGrad = new double[outSize];
    }

    private void view(OneDnnRuntime rt, OneDnnBuffer b, long address) {
        OneDnnTensor v = OneDnnTensor.view(rt, b.shape, b.md, OneDnnTensor.at(address), label(b));
        views.add(v);
        tensors.put(b, v);
    }

    private String label(OneDnnBuffer b) {
        for (Node n : plan.graph().inputs()) {
            if (plan.inputBuffers.get(n.name()) == b) {
                return "input '" + n.name() + "'";
            }
        }
        return "buffer " + b.name;
    }

    private static OneDnnTensor[] checkParameters(OneDnnPlan plan, Parameters p) {
        ParameterLayout mine = new ParameterLayout(plan.graph());
        mine.requireFits(p.layout());
        if (!OneDnnParameterOrders.matches(plan.storedWeights, p)) {
            Map<String, String> want = new TreeMap<>();
            plan.storedWeights.forEach((k, v) -> want.put(k, v.tag()));
            throw new IllegalArgumentException("parameters stored in orders " + p.orders() + " do not fit this plan, which"
                    + " expects weights in the layouts " + want + " (create them with OneDnnBackend.createParameters or"
                    + " Parameters.allocate on this backend)");
        }
        Tensor[] t = {p.values(), p.gradients(), p.state()};
        OneDnnTensor[] o = new OneDnnTensor[3];
        for (int i = 0; i < 3; i++) {
            if (!(t[i] instanceof OneDnnTensor ot)) {
                throw new IllegalArgumentException("parameters must live in the onednn backend's memory (create them with"
                        + " OneDnnBackend.createParameters), got " + t[i].getClass().getName());
            }
            o[i] = ot;
        }
        return o;
    }

    private List<Bound> bind(List<OneDnnOp> ops, OneDnnTensor scratch) {
        List<Bound> bound = new ArrayList<>(ops.size());
        for (OneDnnOp op : ops) {
            if (op instanceof OneDnnOp.Prim p) {
                IntMemoryMap args = res.own(new IntMemoryMap());
                for (int i = 0; i < p.keys().length; i++) {
                    OneDnnTensor t = tensors.get(p.args()[i]);
                    if (t == null) {
                        throw new IllegalStateException(p.label() + ": buffer " + p.args()[i] + " was not declared");
                    }
                    args.put(p.keys()[i], t.memory());
                }
                if (p.scratchpad() != null) {
                    memory s = res.own(new memory(p.scratchpad(), plan.runtime().engine, OneDnnTensor.at(scratch.address())));
                    args.put(DNNL_ARG_SCRATCHPAD, s);
                }
                primitive prim = p.primitive().get();
                bound.add(pass -> prim.execute(stream, args));
            } else if (op instanceof OneDnnOp.Choice c) {
                List<Bound> normal = bind(c.normal(), scratch);
                List<Bound> fixed = bind(c.fixed(), scratch);
                String node = c.node();
                bound.add(pass -> {
                    for (Bound b : fixes.containsKey(node) ? fixed : normal) {
                        b.run(pass);
                    }
                });
            } else if (op instanceof OneDnnOp.Host h) {
                OneDnnOp.Step step = h.step();
                bound.add(pass -> {
                    stream._wait();
                    step.run(this, pass);
                });
            }
        }
        return List.copyOf(bound);
    }

    /** The exact-BatchNorm statistics for {@code node}, or null. */
    io.batchwise.backend.BatchNormFix fix(String node) {
        return fixes.get(node);
    }

    @Override
    public void batchNormStatistics(String node, double[] mean, double[] variance) {
        checkOpen();
        OneDnnBuffer[] b = plan.batchNormStatistics.get(node);
        if (b == null) {
            throw new IllegalArgumentException("'" + node + "' is not a BatchNorm node of a training plan");
        }
        OneDnnTensor m = tensor(b[0]);
        OneDnnTensor v = tensor(b[1]);
        for (int c = 0; c < mean.length; c++) {
            mean[c] = m.getAt(c);
            variance[c] = v.getAt(c);
        }
    }

    @Override
    public void fixBatchNorm(String node, io.batchwise.backend.BatchNormFix fix) {
        checkOpen();
        if (!plan.batchNormStatistics.containsKey(node)) {
            throw new IllegalArgumentException("'" + node + "' is not a BatchNorm node of a training plan");
        }
        if (fix == null) {
            fixes.remove(node);
        } else {
            fixes.put(node, fix);
        }
    }

    /** Host access to a buffer's memory (for host steps). */
    OneDnnTensor tensor(OneDnnBuffer b) {
        OneDnnTensor t = tensors.get(b);
        if (t == null) {
            throw new IllegalStateException("buffer " + b + " is not bound");
        }
        return t;
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
        if (pass.training() && !plan.options().training()) {
            throw new IllegalStateException("a training pass needs a training plan (PlanOptions.forTraining())");
        }
        run(pass.training() ? forwardTraining : forwardInference, pass);
    }

    @Override
    public LossResult loss(Loss loss, Targets targets, double scale) {
        checkOpen();
        output.read(0, lossStage, 0, lossStage.length);
        for (int i = 0; i < lossStage.length; i++) {
            lossOut[i] = lossStage[i];
        }
        Node out = plan.graph().output();
        LossResult r = HostLoss.compute(loss, out.outputShape(), plan.microBatch(), lossOut, targets, scale, lossGrad);
        if (outputGradient != null) {
            for (int i = 0; i < lossStage.length; i++) {
                lossStage[i] = (float) lossGrad[i];
            }
            outputGradient.write(0, lossStage, 0, lossStage.length);
        }
        return r;
    }

    @Override
    public void backward(GradientMode mode) {
        checkOpen();
        if (!plan.options().training()) {
            throw new IllegalStateException("backward needs a training plan (PlanOptions.forTraining())");
        }
        run(mode == GradientMode.OVERWRITE ? backwardOverwrite : backwardAccumulate, null);
    }

    private void run(List<Bound> ops, Pass pass) {
        for (Bound b : ops) {
            b.run(pass);
        }
        stream._wait();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the executor is closed");
        }
        plan.checkOpen();
    }

    private void freeAll() {
        res.close();
        for (OneDnnTensor v : views) {
            v.close();
        }
        if (arena != null) {
            arena.close();
        }
        views.clear();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        freeAll();
        plan.closed(this);
    }
}
