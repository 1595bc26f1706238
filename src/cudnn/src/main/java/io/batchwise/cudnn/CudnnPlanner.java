package io.batchwise.cudnn;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.Input;
import io.batchwise.layer.ParamSpec;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.plan.MemoryPlan.Kind;
import io.batchwise.spi.GradientFlow;
import io.batchwise.spi.Lifetimes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Compiles a graph into a {@link CudnnProgram} for one micro-batch, without a device: the only device
 * fact it needs, the convolution algorithms and their workspace sizes, comes from {@code tuner}.
 *
 * <p>Every tensor is plain float32, so there are no layouts to negotiate and no reorders. Order:
 * forward in topological order; then every gradient buffer, consumers first (a node whose only
 * consumer is a Flatten shares that Flatten's gradient bytes); then the backward ops in reverse
 * topological order. A gradient receives contributions from each consumer: the first one to run
 * overwrites it ({@link CudnnOp.Beta#ZERO}), later ones add ({@link CudnnOp.Beta#ONE}) through the
 * beta of the cuDNN or cuBLAS call itself, so accumulation needs no temporaries. Parameter gradients
 * use {@link CudnnOp.Beta#BY_MODE}: one backward program serves both gradient modes.
 */
final class CudnnPlanner {
    /**
     * Byte alignment of every buffer the device touches: what {@code cudaMalloc} guarantees and cuDNN's and cuBLAS's
     * fastest kernels assume. Each step buffer enters the memory plan rounded up to it, so the plan counts the padding
     * and the arena's first-fit offsets (0, or the end of another buffer) are multiples of it too; every parameter
     * slot starts at a multiple of it in the backend's {@link ParameterLayout} ({@link CudnnBackend#layout}), whose
     * padding the plan's parameter, gradient and state buffers count.
     */
    static final int DEVICE_ALIGNMENT = 256;

    /** {@code bytes} rounded up to {@link #DEVICE_ALIGNMENT}: a step buffer's size in the memory plan. */
    static long padded(long bytes) {
        return (bytes + DEVICE_ALIGNMENT - 1) / DEVICE_ALIGNMENT * DEVICE_ALIGNMENT;
    }

    final Graph graph;
    final int batch;
    final PlanOptions options;
    final boolean training;
    final ParameterLayout params;
    final MemoryPlan.Builder mem;
    private final Function<ConvGeometry, ConvAlgorithms> tuner;

    final List<CudnnBuffer> buffers = new ArrayList<>();
    final List<CudnnOp> forwardTraining = new ArrayList<>();
    final List<CudnnOp> forwardInference = new ArrayList<>();
    final List<CudnnOp.Tagged> backward = new ArrayList<>();
    final Map<String, CudnnBuffer> outputs = new HashMap<>();
    final Map<String, CudnnBuffer> diffs = new HashMap<>();
    /** Each BatchNorm node's forward of a training plan, by node: exact BatchNorm's statistics live in its buffers. */
    final Map<String, CudnnOp.Exact> batchNorms = new HashMap<>();
    CudnnBuffer lossTargets;
    CudnnBuffer lossValues;
    CudnnBuffer lossCorrect;

    /** The timeline step ops are being emitted for (see {@link MemoryPlan}). */
    int step;
    /** Per root buffer: the first and last step an op touches it. */
    private final Lifetimes uses = new Lifetimes();
    /** Gradients that already received a contribution (the next one adds). */
    private final Set<String> written = new HashSet<>();
    private final GradientFlow flow;

    CudnnPlanner(Graph graph, int batch, PlanOptions options, Function<ConvGeometry, ConvAlgorithms> tuner) {
        if (batch <= 0) {
            throw new IllegalArgumentException("micro-batch must be positive, got " + batch);
        }
        if (options.dataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("the cudnn backend computes in FLOAT32, not " + options.dataType());
        }
        this.graph = graph;
        this.batch = batch;
        this.options = options;
        this.training = options.training();
        this.tuner = tuner;
        this.params = CudnnBackend.layout(graph);
        this.mem = new MemoryPlan.Builder(graph, batch, training);
        this.flow = GradientFlow.of(graph, options);
    }

    /** Plans {@code graph} at micro-batch {@code batch}. */
    static CudnnProgram compile(Graph graph, int batch, PlanOptions options, Function<ConvGeometry, ConvAlgorithms> tuner) {
        CudnnPlanner p = new CudnnPlanner(graph, batch, options, tuner);
        List<Node> nodes = graph.nodes();
        List<CudnnLayer> layers = new ArrayList<>();
        for (Node n : nodes) {
            CudnnLayer l = CudnnLayer.of(n);
            p.step = p.mem.forwardStep(n);
            l.forward(p);
            layers.add(l);
        }
        Node out = graph.output();
        if (p.training) {
            for (int i = nodes.size() - 1; i >= 0; i--) {
                p.declareGradient(nodes.get(i));
            }
            p.declareLoss(out);
            for (int i = nodes.size() - 1; i >= 0; i--) {
                Node n = nodes.get(i);
                p.step = p.mem.backwardStep(n);
                CudnnBuffer d = p.diffs.get(n.name());
                if (d != null && n != out && !p.written.contains(n.name())) {
                    // No consumer passes a gradient back (an input that does not feed the output): zero.
                    p.backward(new CudnnOp.Fill(n.name() + " gradient (no contribution)", d.elements(), 0f, d));
                    p.written.add(n.name());
                }
                if (p.participates(n)) {
                    layers.get(i).backward(p);
                } else {
                    p.zeroUnreachedGradients(n);
                }
            }
        }
        // What the caller touches (inputs, output, their gradients) lives for the whole step.
        int last = p.mem.steps() - 1;
        List<CudnnBuffer> open = new ArrayList<>();
        for (Node n : graph.inputs()) {
            open.add(p.output(n.name()));
            if (options.inputGradients()) {
                open.add(p.diff(n.name()));
            }
        }
        open.add(p.output(out.name()));
        if (p.training) {
            open.add(p.diff(out.name()));
        }
        for (CudnnBuffer b : open) {
            p.use(b, 0);
            p.use(b, last);
        }
        // As Parameters.allocate sizes them in this backend's layout (padding included): never empty.
        long t = 4 * Math.max(1, p.params.trainableSize());
        p.mem.whole("parameters", null, Kind.PARAMETER, t);
        p.mem.whole("gradients", null, Kind.GRADIENT, t);
        p.mem.whole("state", null, Kind.STATE, 4 * Math.max(1, p.params.stateSize()));
        return new CudnnProgram(p, p.memoryPlan());
    }

    // ---------------------------------------------------------------- graph facts

    boolean requiresGrad(String node) {
        return flow.requiresGrad(node);
    }

    /** Whether backward runs for {@code node}: a training plan, a gradient is needed, the node feeds the output. */
    boolean participates(Node node) {
        return flow.participates(node);
    }

    CudnnBuffer output(String node) {
        CudnnBuffer b = outputs.get(node);
        if (b == null) {
            throw new IllegalStateException("node '" + node + "' has no output yet");
        }
        return b;
    }

    void setOutput(Node node, CudnnBuffer b) {
        Shape want = node.outputShape().withBatch(batch);
        if (!b.shape.equals(want)) {
            throw new IllegalStateException("node " + node.describe() + ": buffer " + b + " does not hold " + want);
        }
        outputs.put(node.name(), b);
    }

    CudnnBuffer diff(String node) {
        CudnnBuffer b = diffs.get(node);
        if (b == null) {
            throw new IllegalStateException("node '" + node + "' has no gradient buffer");
        }
        return b;
    }

    int forwardStep(Node node) {
        return mem.forwardStep(node);
    }

    int backwardStep(Node node) {
        return mem.backwardStep(node);
    }

    ConvAlgorithms tune(ConvGeometry g) {
        return tuner.apply(g);
    }

    // ---------------------------------------------------------------- buffers

    private CudnnBuffer add(String name, Shape shape, long bytes, CudnnBuffer aliasOf, CudnnBuffer.Store store, long offset) {
        CudnnBuffer b = new CudnnBuffer(buffers.size(), name, shape, bytes, aliasOf, store, offset);
        buffers.add(b);
        return b;
    }

    private static long bytes(Shape s) {
        return 4 * s.size();
    }

    /** A node's output {@code (b, ...)}. */
    CudnnBuffer activation(Node node, Kind kind) {
        Shape s = node.outputShape().withBatch(batch);
        CudnnBuffer b = add(node.name() + ".dst", s, bytes(s), null, null, 0);
        mem.activation(node, kind, padded(b.bytes));
        return b;
    }

    /** A buffer a node's forward fills and its backward reads (statistics, masks). */
    CudnnBuffer workspace(Node node, String what, Shape shape) {
        CudnnBuffer b = add(node.name() + "." + what, shape, bytes(shape), null, null, 0);
        mem.workspace(node, what, padded(b.bytes));
        return b;
    }

    /** A buffer used at one step only, of {@code shape}. */
    CudnnBuffer temporary(Node node, String what, Kind kind, Shape shape, int at) {
        return temporaryBytes(node, what, kind, shape, bytes(shape), at);
    }

    /** A buffer of raw bytes used at one step only (convolution workspaces), or null for none. */
    CudnnBuffer scratch(Node node, String what, long bytes, int at) {
        if (bytes == 0) {
            return null;
        }
        return temporaryBytes(node, what, Kind.WORKSPACE, Shape.of(Math.toIntExact((bytes + 3) / 4)), bytes, at);
    }

    private CudnnBuffer temporaryBytes(Node node, String what, Kind kind, Shape shape, long bytes, int at) {
        CudnnBuffer b = add(node.name() + "." + what, shape, bytes, null, null, 0);
        mem.temporary(node, what, kind, padded(bytes), at);
        return b;
    }

    /** {@code of}'s bytes under another name and shape (no memory of its own). */
    CudnnBuffer alias(String name, CudnnBuffer of, Shape shape) {
        if (bytes(shape) > of.root().bytes) {
            throw new IllegalStateException(name + ": a view of " + shape + " over " + of);
        }
        if (of.isParameter()) {
            return add(name, shape, bytes(shape), null, of.store, of.storeOffset);
        }
        return add(name, shape, bytes(shape), of, null, 0);
    }

    /** A view of parameter {@code param} of {@code node} in the values, gradients or state tensor. */
    CudnnBuffer parameter(Node node, String param, CudnnBuffer.Store store) {
        ParameterLayout.Slot slot = params.slot(node.name(), param);
        Shape s = slot.spec().shape();
        return add(slot.key() + (store == CudnnBuffer.Store.GRADIENTS ? ".grad" : ""), s, bytes(s), null, store, slot.offset());
    }

    // ---------------------------------------------------------------- gradients

    /**
     * Declares {@code node}'s gradient once its consumers have theirs: the output (the loss writes it), an
     * input whose gradient the caller asked for, and every node backward runs for. A node whose only
     * consumer is a Flatten shares the Flatten's gradient bytes.
     */
    private void declareGradient(Node node) {
        boolean publicInput = node.layer() instanceof Input && options.inputGradients();
        if (!(participates(node) || publicInput || node == graph.output())) {
            return;
        }
        Shape s = node.outputShape().withBatch(batch);
        List<Node> consumers = graph.consumers(node.name()).stream().filter(this::participates).toList();
        if (node != graph.output() && consumers.size() == 1 && consumers.get(0).layer() instanceof Flatten) {
            diffs.put(node.name(), alias(node.name() + ".diff_dst", diff(consumers.get(0).name()), s));
            written.add(node.name()); // complete once the Flatten's consumers have written theirs
            return;
        }
        CudnnBuffer b = add(node.name() + ".diff_dst", s, bytes(s), null, null, 0);
        mem.activationGradient(node, padded(b.bytes));
        diffs.put(node.name(), b);
    }

    /**
     * How a contribution to {@code producer}'s gradient is blended: the first to run overwrites, later
     * ones add. The output's gradient is written by the loss first, so everything else adds to it.
     */
    CudnnOp.Beta contribution(String producer) {
        if (producer.equals(graph.output().name()) || written.contains(producer)) {
            return CudnnOp.Beta.ONE;
        }
        written.add(producer);
        return CudnnOp.Beta.ZERO;
    }

    /** Whether {@code producer}'s gradient is {@code consumer}'s own gradient bytes (a Flatten's input). */
    boolean sharesGradient(String producer, String consumer) {
        return diff(producer).root() == diff(consumer).root();
    }

    /** Parameters of a node that does not feed the output: zero gradients in OVERWRITE, untouched in ACCUMULATE. */
    private void zeroUnreachedGradients(Node n) {
        for (ParamSpec s : n.params()) {
            if (s.trainable()) {
                CudnnBuffer g = parameter(n, s.name(), CudnnBuffer.Store.GRADIENTS);
                backward(new CudnnOp.Fill(n.name() + "." + s.name() + " zero gradient", g.elements(), 0f, g),
                        GradientMode.OVERWRITE);
            }
        }
    }

    /** The loss's buffers, used at the loss step: targets, per-sample losses (float64) and hits (int). */
    private void declareLoss(Node out) {
        int lossStep = graph.nodes().size();
        long per = out.outputShape().size();
        lossTargets = temporary(out, "loss_targets", Kind.WORKSPACE, Shape.of(Math.toIntExact(batch * per)), lossStep);
        lossValues = temporaryBytes(out, "loss_values", Kind.WORKSPACE, Shape.of(batch), 8L * batch, lossStep);
        lossCorrect = temporaryBytes(out, "loss_correct", Kind.WORKSPACE, Shape.of(batch), 4L * batch, lossStep);
        step = lossStep;
        for (CudnnBuffer b : new CudnnBuffer[] {lossTargets, lossValues, lossCorrect}) {
            use(b, lossStep);
        }
    }

    // ---------------------------------------------------------------- ops

    void forward(CudnnOp op) {
        forwardTraining.add(used(op));
        forwardInference.add(op);
    }

    void forwardTrainingOnly(CudnnOp op) {
        forwardTraining.add(used(op));
    }

    void forwardInferenceOnly(CudnnOp op) {
        forwardInference.add(used(op));
    }

    void backward(CudnnOp op) {
        backward.add(new CudnnOp.Tagged(used(op), null));
    }

    void backward(CudnnOp op, GradientMode only) {
        backward.add(new CudnnOp.Tagged(used(op), only));
    }

    private CudnnOp used(CudnnOp op) {
        for (CudnnBuffer b : op.buffers()) {
            use(b, step);
        }
        return op;
    }

    /** Marks {@code b}'s memory as used at {@code at}. */
    void use(CudnnBuffer b, int at) {
        if (b.isParameter()) {
            return; // parameter slots live in Parameters
        }
        uses.use(b.root().name, at);
    }

    /** The memory plan: the builder's lifetimes, stretched to where the ops use each buffer (see {@link Lifetimes}). */
    MemoryPlan memoryPlan() {
        return uses.stretch(mem.build(), training, graph.nodes().size());
    }
}
