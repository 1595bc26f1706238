package io.batchwise.cudnn;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.Shape;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
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
 * <p>Every tensor is plain (NCHW), so there are no layouts to negotiate. Under
 * {@link Precision#BF16_MIXED} activations, their gradients and the weight and bias copies the calls read are
 * bfloat16, everything else float32 (see {@link #act}); {@link CudnnOp.Convert} ops change the type where the two
 * meet. Order:
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
    /**
     * Element type of activations, their gradients, the dropout masks and the weight and bias copies cuDNN and cuBLAS
     * read: FLOAT32, or BFLOAT16 under {@link Precision#BF16_MIXED}. Parameters, parameter gradients, state, BatchNorm
     * statistics, losses and the caller's input and output stay float32: the caller writes a float32 input that one
     * conversion turns into bf16 ({@link #callerInputs}), and reads the output and writes its gradient in a float32
     * stage ({@link #outputStage}).
     */
    final DataType act;
    final boolean bf16;
    final ParameterLayout params;
    final MemoryPlan.Builder mem;
    private final Function<ConvGeometry, ConvAlgorithms> tuner;

    final List<CudnnBuffer> buffers = new ArrayList<>();
    final List<CudnnOp> forwardTraining = new ArrayList<>();
    final List<CudnnOp> forwardInference = new ArrayList<>();
    final List<CudnnOp.Tagged> backward = new ArrayList<>();
    final Map<String, CudnnBuffer> outputs = new HashMap<>();
    final Map<String, CudnnBuffer> diffs = new HashMap<>();
    /** A bf16 plan's float32 buffers the caller writes for graph inputs, by node (float32 plans: the outputs themselves). */
    final Map<String, CudnnBuffer> callerInputs = new HashMap<>();
    /** A bf16 plan's float32 copies of the output and its gradient: what the loss and the caller read and write. */
    CudnnBuffer outputStage;
    CudnnBuffer outputGradientStage;
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
        this.act = options.precision().activationType(DataType.FLOAT32);
        this.bf16 = act == DataType.BFLOAT16;
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
        if (p.bf16) {
            p.stageOutput(out);
        }
        if (p.training) {
            for (int i = nodes.size() - 1; i >= 0; i--) {
                p.declareGradient(nodes.get(i));
            }
            p.declareLoss(out);
            if (p.bf16) {
                // The loss writes the float32 stage; the output's gradient is its bf16 copy, written first (beta 0).
                p.step = p.mem.backwardStep(out);
                CudnnBuffer d = p.diff(out.name());
                p.backward(new CudnnOp.Convert(out.name() + " gradient to bf16", d.elements(), p.outputGradientStage, d,
                        CudnnOp.Beta.ZERO));
            }
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
            open.add(p.callerInput(n.name()));
            if (options.inputGradients()) {
                open.add(p.diff(n.name()));
            }
        }
        open.add(p.callerOutput());
        if (p.training) {
            open.add(p.callerOutputGradient());
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

    /** The float32 buffer the caller writes for graph input {@code node}. */
    CudnnBuffer callerInput(String node) {
        CudnnBuffer b = callerInputs.get(node);
        return b != null ? b : output(node);
    }

    /** What the caller reads as the output, and the loss too: the output, or its float32 stage. */
    CudnnBuffer callerOutput() {
        return outputStage != null ? outputStage : output(graph.output().name());
    }

    /** What the loss writes and the caller reads as the output's gradient. */
    CudnnBuffer callerOutputGradient() {
        return outputGradientStage != null ? outputGradientStage : diff(graph.output().name());
    }

    /**
     * A bf16 plan's float32 stage of the output (and of its gradient in a training plan), live for the whole step:
     * the forward programs end converting the output into it; backward begins converting the gradient back.
     */
    private void stageOutput(Node out) {
        CudnnBuffer y = output(out.name());
        // Declared at one step; compile() stretches both over the whole step, as everything the caller touches.
        outputStage = temporary(out, "dst_f32", Kind.ACTIVATION, y.shape, DataType.FLOAT32, 0);
        step = forwardStep(out);
        forward(new CudnnOp.Convert(out.name() + " output to float32", y.elements(), y, outputStage, CudnnOp.Beta.ZERO));
        if (training) {
            outputGradientStage = temporary(out, "diff_dst_f32", Kind.ACTIVATION_GRADIENT, y.shape, DataType.FLOAT32,
                    mem.steps() - 1);
        }
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

    private CudnnBuffer add(String name, Shape shape, DataType type, long bytes, CudnnBuffer aliasOf, CudnnBuffer.Store store,
                            long offset) {
        CudnnBuffer b = new CudnnBuffer(buffers.size(), name, shape, type, bytes, aliasOf, store, offset);
        buffers.add(b);
        return b;
    }

    private static long bytes(Shape s, DataType type) {
        return type.bytes() * s.size();
    }

    /** A node's output {@code (b, ...)}, of the plan's activation type. */
    CudnnBuffer activation(Node node, Kind kind) {
        Shape s = node.outputShape().withBatch(batch);
        CudnnBuffer b = add(node.name() + ".dst", s, act, bytes(s, act), null, null, 0);
        mem.activation(node, kind, padded(b.bytes));
        return b;
    }

    /** A float32 buffer a node's forward fills and its backward reads (statistics). */
    CudnnBuffer workspace(Node node, String what, Shape shape) {
        return workspace(node, what, shape, DataType.FLOAT32, Kind.WORKSPACE);
    }

    /** A buffer of {@code type} a node's forward fills and its backward reads (masks, weight copies, a bf16 plan's input). */
    CudnnBuffer workspace(Node node, String what, Shape shape, DataType type, Kind kind) {
        CudnnBuffer b = add(node.name() + "." + what, shape, type, bytes(shape, type), null, null, 0);
        mem.workspace(node, what, kind, padded(b.bytes));
        return b;
    }

    /** A float32 buffer used at one step only, of {@code shape}. */
    CudnnBuffer temporary(Node node, String what, Kind kind, Shape shape, int at) {
        return temporary(node, what, kind, shape, DataType.FLOAT32, at);
    }

    /** A buffer of {@code type} used at one step only. */
    CudnnBuffer temporary(Node node, String what, Kind kind, Shape shape, DataType type, int at) {
        CudnnBuffer b = add(node.name() + "." + what, shape, type, bytes(shape, type), null, null, 0);
        mem.temporary(node, what, kind, padded(b.bytes), at);
        return b;
    }

    /**
     * In a bf16 plan, the bf16 copy of parameter {@code param} that the node's forward converts from the float32 master
     * (once per forward: the caller may change the parameters between passes) and its backward reads; in a float32
     * plan, the parameter itself.
     */
    CudnnBuffer kernelCopy(Node node, String param) {
        CudnnBuffer master = parameter(node, param, CudnnBuffer.Store.VALUES);
        if (!bf16) {
            return master;
        }
        CudnnBuffer copy = workspace(node, param + "_bf16", master.shape, DataType.BFLOAT16, Kind.WORKSPACE);
        forward(new CudnnOp.Convert(node.name() + " " + param + " to bf16", master.elements(), master, copy, CudnnOp.Beta.ZERO));
        return copy;
    }

    /**
     * Where a cuDNN call writes the gradient of parameter {@code param}: the float32 gradient (blended by mode), or in a
     * bf16 plan a bf16 temporary (cuDNN writes a gradient in its inputs' type) that {@link #addGradient} adds in.
     */
    CudnnBuffer gradientTarget(Node node, String param) {
        CudnnBuffer g = parameter(node, param, CudnnBuffer.Store.GRADIENTS);
        return bf16 ? temporary(node, param + "_grad_bf16", Kind.WORKSPACE, g.shape, DataType.BFLOAT16, backwardStep(node)) : g;
    }

    /** The blend of a gradient written to {@link #gradientTarget}: by mode into float32, else overwriting the temporary. */
    CudnnOp.Beta gradientBeta() {
        return bf16 ? CudnnOp.Beta.ZERO : CudnnOp.Beta.BY_MODE;
    }

    /** After a call wrote {@code target} ({@link #gradientTarget}): in a bf16 plan, adds it into the float32 gradient. */
    void addGradient(Node node, String param, CudnnBuffer target) {
        if (target.bf16()) {
            CudnnBuffer g = parameter(node, param, CudnnBuffer.Store.GRADIENTS);
            backward(new CudnnOp.Convert(node.name() + " " + param + " gradient to float32", g.elements(), target, g,
                    CudnnOp.Beta.BY_MODE));
        }
    }

    /** A buffer of raw bytes used at one step only (convolution workspaces), or null for none. */
    CudnnBuffer scratch(Node node, String what, long bytes, int at) {
        if (bytes == 0) {
            return null;
        }
        return temporaryBytes(node, what, Kind.WORKSPACE, Shape.of(Math.toIntExact((bytes + 3) / 4)), bytes, at);
    }

    private CudnnBuffer temporaryBytes(Node node, String what, Kind kind, Shape shape, long bytes, int at) {
        CudnnBuffer b = add(node.name() + "." + what, shape, DataType.FLOAT32, bytes, null, null, 0);
        mem.temporary(node, what, kind, padded(bytes), at);
        return b;
    }

    /** {@code of}'s bytes under another name and shape (no memory of its own). */
    CudnnBuffer alias(String name, CudnnBuffer of, Shape shape) {
        if (bytes(shape, of.type) > of.root().bytes) {
            throw new IllegalStateException(name + ": a view of " + shape + " over " + of);
        }
        if (of.isParameter()) {
            return add(name, shape, of.type, bytes(shape, of.type), null, of.store, of.storeOffset);
        }
        return add(name, shape, of.type, bytes(shape, of.type), of, null, 0);
    }

    /** A view of parameter {@code param} of {@code node} in the values, gradients or state tensor. */
    CudnnBuffer parameter(Node node, String param, CudnnBuffer.Store store) {
        ParameterLayout.Slot slot = params.slot(node.name(), param);
        Shape s = slot.spec().shape();
        return add(slot.key() + (store == CudnnBuffer.Store.GRADIENTS ? ".grad" : ""), s, DataType.FLOAT32,
                bytes(s, DataType.FLOAT32), null, store, slot.offset());
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
        CudnnBuffer b = add(node.name() + ".diff_dst", s, act, bytes(s, act), null, null, 0);
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
