package io.batchwise.onednn;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Input;
import io.batchwise.layer.ParamSpec;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.plan.MemoryPlan.Kind;
import io.batchwise.spi.BoundExecutors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.PointerScope;

/**
 * A graph compiled for one micro-batch: every primitive descriptor and primitive, built once and
 * reused by every step of every executor bound to it, and the descriptor of every buffer. Holds no
 * tensor memory. Closing it frees all its native objects (closing any executor still open first).
 */
final class OneDnnPlan implements Plan {
    private final OneDnnRuntime rt;
    private final Graph graph;
    private final int microBatch;
    private final PlanOptions options;
    private final MemoryPlan memory;
    private final OneDnnResources res;
    final List<OneDnnOp> forwardTraining;
    final List<OneDnnOp> forwardInference;
    final List<OneDnnOp> backwardOverwrite;
    final List<OneDnnOp> backwardAccumulate;
    final List<OneDnnBuffer> buffers;
    final Map<String, OneDnnBuffer> outputs;
    /** The buffer the caller writes for each graph input (its output, or the f32 buffer a bf16 plan converts). */
    final Map<String, OneDnnBuffer> inputBuffers;
    /** Weights the plan expects in a kernel's layout (OneDnnParameterOrders). */
    final Map<String, OneDnnParameterOrders.Stored> storedWeights;
    final Map<String, OneDnnBuffer> diffs;
    /** A plain buffer through which a non-plain output and its gradient are read and written whole; or null. */
    final OneDnnBuffer outputStage;
    final long scratchpadBytes;
    final Map<String, OneDnnBuffer[]> batchNormStatistics;
    private final Map<String, String> implementations;
    private final BoundExecutors<OneDnnExecutor> executors = new BoundExecutors<>();

    private OneDnnPlan(OneDnnRuntime rt, OneDnnPlanner p) {
        this.rt = rt;
        this.graph = p.graph;
        this.microBatch = p.batch;
        this.options = p.options;
        this.memory = p.memoryPlan();
        this.res = p.res;
        this.forwardTraining = List.copyOf(p.forwardTraining);
        this.forwardInference = List.copyOf(p.forwardInference);
        this.backwardOverwrite = select(p.backward, GradientMode.OVERWRITE);
        this.backwardAccumulate = select(p.backward, GradientMode.ACCUMULATE);
        this.buffers = List.copyOf(p.buffers);
        this.outputs = Map.copyOf(p.outputs);
        Map<String, OneDnnBuffer> in = new java.util.HashMap<>();
        for (Node n : p.graph.inputs()) {
            in.put(n.name(), p.inputBuffers.getOrDefault(n.name(), p.outputs.get(n.name())));
        }
        this.inputBuffers = Map.copyOf(in);
        this.storedWeights = p.stored;
        this.diffs = Map.copyOf(p.diffs);
        this.outputStage = p.outputStage;
        this.scratchpadBytes = p.scratchpadBytes;
        this.batchNormStatistics = Map.copyOf(p.batchNormStatistics);
        this.implementations = Collections.unmodifiableMap(new LinkedHashMap<>(p.implementations));
    }

    private static List<OneDnnOp> select(List<OneDnnOp.Tagged> ops, GradientMode mode) {
        List<OneDnnOp> l = new ArrayList<>();
        for (OneDnnOp.Tagged t : ops) {
            if (t.only() == null || t.only() == mode) {
                l.add(t.op());
            }
        }
        return List.copyOf(l);
    }

    /** Builds descriptors and primitives for {@code graph} at micro-batch {@code batch}; allocates no tensor memory. */
    static OneDnnPlan compile(OneDnnRuntime rt, Graph graph, int batch, PlanOptions options) {
        if (batch <= 0) {
            throw new IllegalArgumentException("micro-batch must be positive, got " + batch);
        }
        if (options.dataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("the onednn backend computes in FLOAT32, not " + options.dataType());
        }
        OneDnnResources res = new OneDnnResources();
        try (PointerScope scope = new PointerScope()) {
            OneDnnPlanner p = new OneDnnPlanner(rt, graph, batch, options, res);
            List<Node> nodes = graph.nodes();
            List<OneDnnLayer> layers = new ArrayList<>();
            for (Node n : nodes) {
                OneDnnLayer l = OneDnnLayer.of(n);
                p.enter(n);
                p.step = p.forwardStep(n);
                l.forward(p);
                layers.add(l);
            }
            if (options.training()) {
                // Backward descriptors, consumers first: each node then knows every contribution to its gradient.
                for (int i = nodes.size() - 1; i >= 0; i--) {
                    Node n = nodes.get(i);
                    p.enter(n);
                    p.step = p.backwardStep(n);
                    boolean publicInput = n.layer() instanceof Input && options.inputGradients();
                    memory.desc md = null;
                    if (p.participates(n)) {
                        md = layers.get(i).planBackward(p);
                    } else if (publicInput) {
                        md = p.plain(OneDnnMd.dims(n.outputShape().withBatch(batch)));
                    } else if (n == graph.output()) {
                        md = p.output(n.name()).md;
                    }
                    if (md != null) {
                        p.declareGradient(n, md);
                    }
                }
                for (int i = nodes.size() - 1; i >= 0; i--) {
                    Node n = nodes.get(i);
                    p.enter(n);
                    p.step = p.backwardStep(n);
                    if (p.participates(n)) {
                        layers.get(i).backward(p);
                    } else {
                        zeroUnreachedGradients(p, n);
                    }
                }
            }
            // What the caller touches (inputs, output, their gradients) lives for the whole step.
            int last = p.mem.steps() - 1;
            List<OneDnnBuffer> open = new ArrayList<>();
            for (Node n : graph.inputs()) {
                open.add(p.output(n.name()));
                if (p.inputBuffers.containsKey(n.name())) {
                    open.add(p.inputBuffers.get(n.name()));
                }
                if (options.inputGradients()) {
                    open.add(p.diff(n.name()));
                }
            }
            open.add(p.output(graph.output().name()));
            if (options.training()) {
                open.add(p.diff(graph.output().name()));
            }
            // A non-plain output or output gradient is read and written whole (the loss) through a plain staging
            // buffer (OneDnnTensor): planned here, so the predicted peak holds it.
            Node outNode = graph.output();
            // A bf16 output is read (and its gradient written) through the same f32 staging buffer: the loss is f32.
            OneDnnBuffer outBuf = p.output(outNode.name());
            if (!OneDnnMd.isPlain(outBuf.md) || !OneDnnMd.isF32(outBuf.md)
                    || (options.training() && (!OneDnnMd.isPlain(p.diff(outNode.name()).md) || !OneDnnMd.isF32(p.diff(outNode.name()).md)))) {
                p.outputStage = p.workspace(outNode, "plain_stage",
                        p.plainF32(OneDnnMd.dims(outNode.outputShape().withBatch(batch))));
                open.add(p.outputStage);
            }
            for (OneDnnBuffer b : open) {
                p.use(b, 0);
                p.use(b, last);
            }
            // As Parameters.allocate sizes them: never empty, always with a gradient buffer.
            ParameterLayout pl = p.params;
            p.mem.whole("parameters", null, Kind.PARAMETER, 4 * Math.max(1, pl.trainableSize()));
            p.mem.whole("gradients", null, Kind.GRADIENT, 4 * Math.max(1, pl.trainableSize()));
            p.mem.whole("state", null, Kind.STATE, 4 * Math.max(1, pl.stateSize()));
            p.declareScratchpad();
            return new OneDnnPlan(rt, p);
        } catch (RuntimeException | Error e) {
            res.close();
            throw e;
        }
    }

    /** Parameters of a node that does not feed the output get zero gradients (OVERWRITE) or keep theirs (ACCUMULATE). */
    private static void zeroUnreachedGradients(OneDnnPlanner p, Node n) {
        for (ParamSpec s : n.params()) {
            if (!s.trainable()) {
                continue;
            }
            OneDnnBuffer g = p.parameter(n, s.name(), OneDnnBuffer.Store.GRADIENTS, s.shape().size());
            p.backward(new OneDnnOp.Host(n.name() + "." + s.name() + " zero gradient", (ex, pass) -> {
                OneDnnTensor t = ex.tensor(g);
                for (int i = 0; i < t.size(); i++) {
                    t.putAt(i, 0f);
                }
            }, g), GradientMode.OVERWRITE);
        }
    }

    OneDnnRuntime runtime() {
        return rt;
    }

    /** Primitive label to oneDNN implementation ({@code impl_info_str()}), in program order. */
    Map<String, String> implementations() {
        return implementations;
    }

    @Override
    public Graph graph() {
        return graph;
    }

    @Override
    public int microBatch() {
        return microBatch;
    }

    @Override
    public PlanOptions options() {
        return options;
    }

    @Override
    public MemoryPlan memory() {
        return memory;
    }

    @Override
    public Executor bind(Parameters parameters, Tensor arena) {
        return executors.bind(() -> new OneDnnExecutor(this, parameters, arena));
    }

    void closed(OneDnnExecutor e) {
        executors.unbound(e);
    }

    void checkOpen() {
        executors.requireOpen();
    }

    @Override
    public void close() {
        if (executors.close()) {
            res.close();
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("oneDNN plan, micro-batch " + microBatch + "\n");
        implementations.forEach((k, v) -> sb.append(String.format("  %-48s %s%n", k, v)));
        return sb.append(memory.table()).toString();
    }
}
