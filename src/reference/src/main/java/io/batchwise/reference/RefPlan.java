package io.batchwise.reference;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.Executor;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Concat;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Input;
import io.batchwise.layer.Layer;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.Softmax;
import io.batchwise.layer.Tanh;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.GELU;
import io.batchwise.layer.ELU;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.plan.MemoryPlan.Kind;
import io.batchwise.spi.BoundExecutors;
import io.batchwise.spi.SharedArena;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A graph compiled for the reference backend: one {@link RefOp} per node (none for inputs) and
 * the memory plan. Allocates no memory itself; {@link #close()} closes executors still bound.
 */
final class RefPlan implements Plan {
    final ReferenceBackend backend;
    private final Graph graph;
    private final int microBatch;
    private final PlanOptions options;
    final ParameterLayout layout;
    /** Indexed by node index; null for input nodes. */
    final List<RefOp> ops;
    private final MemoryPlan memory;
    private final BoundExecutors<RefExecutor> executors = new BoundExecutors<>();

    RefPlan(ReferenceBackend backend, Graph graph, int microBatch, PlanOptions options) {
        this.backend = backend;
        this.graph = graph;
        this.microBatch = microBatch;
        this.options = options;
        this.layout = new ParameterLayout(graph);
        List<RefOp> list = new ArrayList<>();
        for (Node n : graph.nodes()) {
            list.add(compile(n));
        }
        this.ops = Collections.unmodifiableList(list);
        this.memory = planMemory();
    }

    /** The node's op; null for an input, which has none. */
    private RefOp compile(Node node) {
        int b = microBatch;
        return node.layer().accept(new Layer.Visitor<RefOp>() {
            public RefOp visit(Input l) { return null; }
            public RefOp visit(Dense l) { return new RefDense(node, b, layout); }
            public RefOp visit(Conv2d l) { return new RefConv2d(node, b, layout); }
            public RefOp visit(MaxPool2d l) { return new RefMaxPool2d(node, b); }
            public RefOp visit(AvgPool2d l) { return new RefAvgPool2d(node, b); }
            public RefOp visit(GlobalAvgPool2d l) { return new RefGlobalAvgPool2d(node, b); }
            public RefOp visit(Flatten l) { return new RefFlatten(node, b); }
            public RefOp visit(ReLU l) { return new RefEltwise(node, b); }
            public RefOp visit(LeakyReLU l) { return new RefEltwise(node, b); }
            public RefOp visit(ELU l) { return new RefEltwise(node, b); }
            public RefOp visit(GELU l) { return new RefEltwise(node, b); }
            public RefOp visit(Tanh l) { return new RefEltwise(node, b); }
            public RefOp visit(Sigmoid l) { return new RefEltwise(node, b); }
            public RefOp visit(Softmax l) { return new RefSoftmax(node, b); }
            public RefOp visit(BatchNorm l) { return new RefBatchNorm(node, b, layout); }
            public RefOp visit(Dropout l) { return new RefDropout(node, b); }
            public RefOp visit(Add l) { return new RefAdd(node, b); }
            public RefOp visit(Concat l) { return new RefConcat(node, b); }
        });
    }

    /**
     * Whether the node has a gradient buffer: in training plans the output, every non-input node
     * before it (nodes after the output take no part in backward), and the inputs when the options
     * ask for input gradients.
     */
    boolean hasGradient(Node node) {
        if (!options.training() || node.index() > graph.output().index()) {
            return false;
        }
        return node == graph.output() || !(node.layer() instanceof Input) || options.inputGradients();
    }

    /**
     * Every buffer bind allocates, at its real size, plus the parameter buffers. The reference
     * executor keeps each buffer for its whole life (no reuse), so every buffer is live over the
     * whole step and the planned peak is exactly what the tracker sees.
     */
    private MemoryPlan planMemory() {
        MemoryPlan.Builder b = new MemoryPlan.Builder(graph, microBatch, options.training());
        int bytes = options.dataType().bytes();
        for (Node n : graph.nodes()) {
            long activation = n.outputShape().withBatch(microBatch).size() * bytes;
            b.whole(n.name() + ".dst", n.name(), n.layer() instanceof Input ? Kind.INPUT : Kind.ACTIVATION, activation);
            if (hasGradient(n)) {
                b.whole(n.name() + ".diff_dst", n.name(), Kind.ACTIVATION_GRADIENT, activation);
            }
            RefOp op = ops.get(n.index());
            if (op != null && options.training()) {
                for (RefOp.Workspace w : op.workspaces()) {
                    b.whole(n.name() + "." + w.what(), n.name(), Kind.WORKSPACE, w.bytes(options.dataType()));
                }
            }
        }
        // As Parameters.allocate sizes them: never empty, and always with a gradient buffer.
        b.whole("parameters", null, Kind.PARAMETER, Math.max(1, layout.trainableSize()) * bytes);
        b.whole("gradients", null, Kind.GRADIENT, Math.max(1, layout.trainableSize()) * bytes);
        b.whole("state", null, Kind.STATE, Math.max(1, layout.stateSize()) * bytes);
        return b.build();
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

    /**
     * The reference keeps every tensor in its own {@code double[]} (kernels index from 0), so it checks
     * a shared arena but does not carve from it: with one, a reference run holds the arena's bytes on
     * top of its own. Memory figures are meaningful on the native backends, not on the oracle.
     */
    @Override
    public Executor bind(Parameters parameters, Tensor arena) {
        if (arena != null) {
            SharedArena.require(arena, RefTensor.class, "reference", memory().arena().bytes());
        }
        return executors.bind(() -> new RefExecutor(this, parameters));
    }

    void unbound(RefExecutor e) {
        executors.unbound(e);
    }

    @Override
    public void close() {
        executors.close();
    }

    @Override
    public String toString() {
        return "reference plan, micro-batch " + microBatch + ", " + options;
    }
}
