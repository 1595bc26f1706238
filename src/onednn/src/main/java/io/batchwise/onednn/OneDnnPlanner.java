package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MULTIPLE_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.Input;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.plan.MemoryPlan.Kind;
import io.batchwise.spi.GradientFlow;
import io.batchwise.spi.Lifetimes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.memory_desc_vector;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.sum;
import org.bytedeco.dnnl.global.dnnl.scratchpad_mode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiles a graph into forward and backward programs. Runs once per plan, inside a
 * {@code PointerScope}: every descriptor, primitive descriptor and primitive the program keeps is
 * {@link #own owned} by the plan's resources, everything else is freed when the scope closes.
 *
 * <p>Order: forward in topological order (each node picks its output layout, its consumers adapt
 * with a reorder where theirs differs); then the backward primitive descriptors in reverse
 * topological order, where each node learns every gradient contribution its consumers will make
 * and chooses its gradient buffer (shared with a single pass-through contribution when layouts
 * agree); then the backward ops in execution order. Every buffer is declared to the
 * {@link MemoryPlan.Builder} with the size oneDNN reports for its descriptor.
 */
final class OneDnnPlanner {
    private static final Logger LOG = LoggerFactory.getLogger(OneDnnPlanner.class);

    final OneDnnRuntime rt;
    final engine eng;
    final Graph graph;
    final int batch;
    final PlanOptions options;
    final boolean training;
    /**
     * Element type of activations, their gradients and the weight copies kernels read: f32, or bf16 under
     * {@link io.batchwise.backend.Precision#BF16_MIXED}. Parameters, parameter gradients, state, BatchNorm
     * statistics and the caller's input and output staging stay f32 ({@link #plainF32}, {@link #anyF32}).
     */
    memory.data_type act;
    final boolean bf16;
    /**
     * Nodes whose outputs (and gradients) stay f32 in a bf16 plan: a one-input-channel convolution reading a graph
     * input and the element-wise and pooling nodes after it, up to convolutions or inner products (which convert).
     * Its bf16 weight gradient has no native kernel and max-pool backward is several times slower in bf16; in f32 the
     * weight gradient reads the f32 gradient directly (LeNet-5: conv1, relu1, pool1). The convolution still computes
     * its forward in bf16, writing f32.
     */
    final java.util.Set<String> f32Region;
    /** Graph inputs whose caller-facing buffer is not the node's output: f32 buffers a reorder turns into bf16. */
    final Map<String, OneDnnBuffer> inputBuffers = new HashMap<>();
    final ParameterLayout params;
    final MemoryPlan.Builder mem;
    final OneDnnResources res;
    /** Weights stored in a kernel's layout (see {@link OneDnnParameterOrders}), by slot key. */
    final Map<String, OneDnnParameterOrders.Stored> stored;
    /** A probe's findings (the weight layouts the forward kernels chose), or null when planning for real. */
    private final Map<String, OneDnnParameterOrders.Stored> probed;

    final List<OneDnnOp> forwardTraining = new ArrayList<>();
    final List<OneDnnOp> forwardInference = new ArrayList<>();
    final List<OneDnnOp.Tagged> backward = new ArrayList<>();
    final Map<String, OneDnnBuffer> outputs = new HashMap<>();
    final Map<String, OneDnnBuffer> diffs = new HashMap<>();
    OneDnnBuffer outputStage; // see OneDnnPlan.outputStage
    final List<OneDnnBuffer> buffers = new ArrayList<>();
    final Map<String, String> implementations = new LinkedHashMap<>();
    long scratchpadBytes;
    /**
     * The attribute of every primitive descriptor without post-ops (user scratchpad). Descriptors copy
     * their attribute, so one instance serves the whole plan: a plan is compiled from a few thousand
     * JavaCPP objects and each one's bookkeeping costs microseconds (see {@link OneDnnMd#dims}).
     */
    final primitive_attr sharedAttr = attr();
    /** Per BatchNorm node: its {mean, variance} buffers of the last training pass (exact BatchNorm reads them). */
    final Map<String, OneDnnBuffer[]> batchNormStatistics = new HashMap<>();
    /** ReLU nodes whose producer (a convolution or an inner product) applies them as a post-op. */
    final java.util.Set<String> fusedRelus = new java.util.HashSet<>();
    /** The timeline step ops are being emitted for (see {@link MemoryPlan}). */
    int step;
    /** Per allocated buffer: the first and last step an op touches it. */
    private final Lifetimes uses = new Lifetimes();
    private final GradientFlow flow;
    private final Map<String, List<Contribution>> contributions = new HashMap<>();

    /**
     * A gradient a consumer adds to one of its inputs' gradient. Either a primitive writes it
     * ({@code passThrough == false}), or it is (a view of) the consumer's own gradient buffer
     * (Add, Flatten, Concat slices).
     */
    static final class Contribution {
        final Node consumer;
        final String producer;
        final String what;
        final String name;
        final memory.desc md;
        final boolean passThrough;
        boolean first;
        OneDnnBuffer existing; // pass-through: the view of the consumer's gradient
        OneDnnBuffer temp;     // primitive-produced and not written in place

        Contribution(Node consumer, String producer, String what, memory.desc md, boolean passThrough) {
            this.consumer = consumer;
            this.producer = producer;
            this.what = what;
            this.name = consumer.name() + "." + what;
            this.md = md;
            this.passThrough = passThrough;
        }
    }

    /** A parameter gradient a backward primitive produces. */
    static final class GradOut {
        final int argKey;
        final OneDnnBuffer view;  // the plain slot in Parameters.gradients()
        final OneDnnBuffer temp;  // what the primitive writes when not writing the slot directly
        final boolean direct;     // the primitive's layout is the slot's: OVERWRITE writes it in place

        GradOut(int argKey, OneDnnBuffer view, OneDnnBuffer temp, boolean direct) {
            this.argKey = argKey;
            this.view = view;
            this.temp = temp;
            this.direct = direct;
        }
    }

    OneDnnPlanner(OneDnnRuntime rt, Graph graph, int batch, PlanOptions options, OneDnnResources res) {
        this(rt, graph, batch, options, res, OneDnnParameterOrders.of(graph), null);
    }

    /** A planner over weights stored as {@code stored} says; {@code probed}, when not null, collects kernel layouts. */
    OneDnnPlanner(OneDnnRuntime rt, Graph graph, int batch, PlanOptions options, OneDnnResources res,
                  Map<String, OneDnnParameterOrders.Stored> stored, Map<String, OneDnnParameterOrders.Stored> probed) {
        this.stored = stored;
        this.probed = probed;
        this.rt = rt;
        this.eng = rt.engine;
        this.graph = graph;
        this.batch = batch;
        this.options = options;
        this.training = options.training();
        this.bf16 = options.precision() == io.batchwise.backend.Precision.BF16_MIXED;
        this.act = bf16 ? memory.data_type.bf16 : memory.data_type.f32;
        this.f32Region = bf16 ? f32Region(graph) : java.util.Set.of();
        this.params = new ParameterLayout(graph);
        this.mem = new MemoryPlan.Builder(graph, batch, training);
        this.res = res;
        this.flow = GradientFlow.of(graph, options);
    }

    // ---------------------------------------------------------------- graph facts

    /** Sets the activation type ({@link #act}) for planning {@code node}: f32 in {@link #f32Region}, else the plan's. */
    void enter(Node node) {
        act = bf16 && !f32Region.contains(node.name()) ? memory.data_type.bf16 : memory.data_type.f32;
    }

    /** See {@link #f32Region}: empty unless every way out of the region is a convolution or an inner product. */
    static java.util.Set<String> f32Region(Graph graph) {
        java.util.Set<String> region = new java.util.LinkedHashSet<>();
        for (Node n : graph.nodes()) {
            if (!(n.layer() instanceof io.batchwise.layer.Conv2d) || n.inputShapes().get(0).dim(0) != 1
                    || !(graph.node(n.inputs().get(0)).layer() instanceof Input)) {
                continue;
            }
            java.util.List<String> chain = new ArrayList<>(List.of(n.name()));
            Node cur = n;
            while (true) {
                List<Node> cs = graph.consumers(cur.name());
                if (cur == graph.output() || cs.isEmpty()) {
                    chain.clear(); // the region would hold the output: leave it all bf16
                    break;
                }
                if (cs.stream().allMatch(c -> c.layer() instanceof io.batchwise.layer.Conv2d
                        || c.layer() instanceof io.batchwise.layer.Dense)) {
                    break;
                }
                var l = cs.get(0).layer();
                boolean passive = l instanceof io.batchwise.layer.ReLU || l instanceof io.batchwise.layer.LeakyReLU
                        || l instanceof io.batchwise.layer.ELU || l instanceof io.batchwise.layer.GELU
                        || l instanceof io.batchwise.layer.Tanh || l instanceof io.batchwise.layer.Sigmoid
                        || l instanceof io.batchwise.layer.MaxPool2d || l instanceof io.batchwise.layer.AvgPool2d;
                if (cs.size() != 1 || !passive) {
                    chain.clear(); // another kind of consumer (BatchNorm, Add, ...) reads its source as it is
                    break;
                }
                cur = cs.get(0);
                chain.add(cur.name());
            }
            region.addAll(chain);
        }
        return java.util.Collections.unmodifiableSet(region);
    }

    boolean requiresGrad(String node) {
        return flow.requiresGrad(node);
    }

    /** Whether backward runs for {@code node}: a training plan, a gradient is needed, the node feeds the output. */
    boolean participates(Node node) {
        return flow.participates(node);
    }

    OneDnnBuffer output(String node) {
        OneDnnBuffer b = outputs.get(node);
        if (b == null) {
            throw new IllegalStateException("node '" + node + "' has no output yet");
        }
        return b;
    }

    void setOutput(Node node, OneDnnBuffer b) {
        if (!b.shape.equals(node.outputShape().withBatch(batch))) {
            throw new IllegalStateException("node " + node.describe() + ": buffer " + b + " does not hold "
                    + node.outputShape().withBatch(batch));
        }
        outputs.put(node.name(), b);
    }

    OneDnnBuffer diff(String node) {
        OneDnnBuffer b = diffs.get(node);
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

    // ---------------------------------------------------------------- descriptors

    <P extends org.bytedeco.javacpp.Pointer> P own(P p) {
        return res.own(p);
    }

    /** A plain descriptor of the activation type ({@link #act}). */
    memory.desc plain(long... dims) {
        return own(OneDnnMd.plain(act, dims));
    }

    /** An {@code any} descriptor of the activation type ({@link #act}). */
    memory.desc any(long... dims) {
        return own(OneDnnMd.any(act, dims));
    }

    /** A plain float32 descriptor: parameters, their gradients, state, the caller's staging. */
    memory.desc plainF32(long... dims) {
        return own(OneDnnMd.plain(dims));
    }

    /** An {@code any} float32 descriptor (weight gradients, a layer kept in f32). */
    memory.desc anyF32(long... dims) {
        return own(OneDnnMd.any(dims));
    }

    /** An {@code any} descriptor of {@code type}. */
    memory.desc any(memory.data_type type, long... dims) {
        return own(OneDnnMd.any(type, dims));
    }

    /**
     * {@code md}'s layout in element type {@code type} ({@link OneDnnMd#retype}), or {@code any} of {@code type} when
     * a blocked layout cannot be retyped: a candidate for a primitive descriptor in a precision other than its
     * producer's.
     */
    memory.desc retype(memory.desc md, memory.data_type type) {
        memory.desc r = OneDnnMd.retype(md, type);
        return r == md ? md : r != null ? own(r) : any(type, OneDnnMd.dims(md));
    }
    /** A fresh attribute with a user-managed scratchpad (never copy one: the copy shares the handle). */
    static primitive_attr attr() {
        primitive_attr a = new primitive_attr();
        a.set_scratchpad_mode(scratchpad_mode.user);
        return a;
    }

    /**
     * The first candidate primitive descriptor oneDNN can create with a fast implementation (not
     * {@code ref}); the last one it can create at all when every one is {@code ref}. Candidates go from
     * the fewest reorders (layouts pinned to what exists) to the most ({@code any} everywhere).
     */
    @SafeVarargs
    final <T extends primitive_desc_base> T firstFast(String what, Supplier<T>... candidates) {
        return firstFast(what, List.of(candidates));
    }

    /** As above, for a candidate list built conditionally. */
    <T extends primitive_desc_base> T firstFast(String what, List<Supplier<T>> candidates) {
        T fallback = null;
        RuntimeException failure = null;
        for (Supplier<T> c : candidates) {
            T pd;
            try {
                pd = c.get();
            } catch (RuntimeException e) {
                failure = e;
                continue;
            }
            if (!pd.impl_info_str().getString().startsWith("ref")) {
                return own(pd);
            }
            fallback = pd;
        }
        if (fallback != null) {
            return own(fallback);
        }
        throw new IllegalStateException(what + ": oneDNN cannot create it" + (failure == null ? "" : ": " + failure.getMessage()),
                failure);
    }

    /**
     * The attribute for {@code node}'s forward primitive: with a ReLU post-op when {@code node}'s only
     * consumer is a plain ReLU (then the ReLU runs no forward of its own, its output is {@code node}'s
     * buffer, and its backward reads that output: {@code eltwise_relu_use_dst_for_bwd}). Saves one
     * pass over the activation and one activation buffer per pair.
     */
    primitive_attr forwardAttr(Node node) {
        List<Node> consumers = graph.consumers(node.name());
        if (node == graph.output() || consumers.size() != 1 || consumers.get(0).layer().getClass() != io.batchwise.layer.ReLU.class) {
            return sharedAttr;
        }
        primitive_attr a = own(attr());
        post_ops po = own(new post_ops());
        po.append_eltwise(org.bytedeco.dnnl.global.dnnl.algorithm.eltwise_relu, 0f, 0f);
        a.set_post_ops(po);
        fusedRelus.add(consumers.get(0).name());
        return a;
    }

    // ---------------------------------------------------------------- buffers

    private OneDnnBuffer add(OneDnnBuffer b) {
        buffers.add(b);
        return b;
    }

    OneDnnBuffer activation(Node node, memory.desc md, Kind kind) {
        OneDnnBuffer b = add(OneDnnBuffer.allocated(node.name() + ".dst", own(md)));
        mem.activation(node, kind, b.bytes);
        return b;
    }

    OneDnnBuffer gradient(Node node, memory.desc md) {
        OneDnnBuffer b = add(OneDnnBuffer.allocated(node.name() + ".diff_dst", own(md)));
        mem.activationGradient(node, b.bytes);
        return b;
    }

    OneDnnBuffer workspace(Node node, String what, memory.desc md) {
        return workspace(node, what, md, Kind.WORKSPACE);
    }

    OneDnnBuffer workspace(Node node, String what, memory.desc md, Kind kind) {
        OneDnnBuffer b = add(OneDnnBuffer.allocated(node.name() + "." + what, own(md)));
        mem.workspace(node, what, kind, b.bytes);
        return b;
    }

    OneDnnBuffer temporary(Node node, String what, Kind kind, memory.desc md, int step) {
        OneDnnBuffer b = add(OneDnnBuffer.allocated(node.name() + "." + what, own(md)));
        mem.temporary(node, what, kind, b.bytes, step);
        return b;
    }

    OneDnnBuffer alias(String name, OneDnnBuffer of, memory.desc md) {
        return add(OneDnnBuffer.alias(name, of, own(md)));
    }

    /**
     * A view of parameter {@code param} of {@code node} in values, gradients or state: plain, or in the layout
     * the parameter is stored in ({@link #storedLayout}).
     */
    OneDnnBuffer parameter(Node node, String param, OneDnnBuffer.Store store, long... dims) {
        ParameterLayout.Slot slot = params.slot(node.name(), param);
        memory.desc md = store == OneDnnBuffer.Store.STATE ? plainF32(dims) : storedLayout(node, param, dims);
        if (md.get_size() != 4L * slot.size()) {
            throw new IllegalStateException(slot.key() + ": descriptor of " + OneDnnMd.describe(md) + " for " + slot.size()
                    + " elements");
        }
        return add(OneDnnBuffer.parameter(slot.key() + (store == OneDnnBuffer.Store.GRADIENTS ? ".grad" : ""), md, store,
                slot.offset()));
    }

    /** The layout parameter {@code param} of {@code node} (logical dims {@code dims}) is stored in: plain unless a kernel's. */
    memory.desc storedLayout(Node node, String param, long... dims) {
        OneDnnParameterOrders.Stored s = stored.get(OneDnnParameterOrders.key(node, param));
        if (s == null) {
            return plainF32(dims);
        }
        if (!Arrays.equals(s.dims(), dims)) {
            throw new IllegalStateException(OneDnnParameterOrders.key(node, param) + " is stored as " + s.tag() + " over "
                    + Arrays.toString(s.dims()) + " but planned over " + Arrays.toString(dims));
        }
        return own(s.md());
    }

    /** Whether {@code param} of {@code node} is stored in a kernel's layout rather than plain. */
    boolean storedNonPlain(Node node, String param) {
        return stored.containsKey(OneDnnParameterOrders.key(node, param));
    }

    /**
     * The weight layout a forward kernel chose for {@code param}: a probe keeps it as the layout to store the
     * weight in where {@link OneDnnParameterOrders#tagOf} names it ({@code unblockedOnly} for inner products).
     */
    void kernelWeights(Node node, String param, memory.desc md, boolean unblockedOnly) {
        if (probed == null) {
            return;
        }
        String tag = OneDnnParameterOrders.tagOf(md, unblockedOnly);
        if (tag != null) {
            probed.put(OneDnnParameterOrders.key(node, param), new OneDnnParameterOrders.Stored(tag, OneDnnMd.dims(md)));
        }
    }

    // ---------------------------------------------------------------- ops

    void forward(OneDnnOp op) {
        forwardTraining.add(used(op));
        forwardInference.add(op);
    }

    void forwardTrainingOnly(OneDnnOp op) {
        forwardTraining.add(used(op));
    }

    void forwardInferenceOnly(OneDnnOp op) {
        forwardInference.add(used(op));
    }

    void backward(OneDnnOp op) {
        backward.add(new OneDnnOp.Tagged(used(op), null));
    }

    void backward(OneDnnOp op, GradientMode only) {
        backward.add(new OneDnnOp.Tagged(used(op), only));
    }

    /** Records that {@code op} touches its buffers at the current step. */
    private OneDnnOp used(OneDnnOp op) {
        if (op instanceof OneDnnOp.Choice c) {
            c.normal().forEach(this::used);
            c.fixed().forEach(this::used);
            return op;
        }
        OneDnnBuffer[] bs = op instanceof OneDnnOp.Prim pr ? pr.args() : ((OneDnnOp.Host) op).uses();
        for (OneDnnBuffer b : bs) {
            use(b, step);
        }
        return op;
    }

    /** Marks {@code b}'s memory as used at {@code at}. */
    void use(OneDnnBuffer b, int at) {
        if (b.store != null) {
            return; // parameter slots live in Parameters
        }
        uses.use(b.root().name, at);
    }

    /** The memory plan: the builder's lifetimes, stretched to where the ops use each buffer (see {@link Lifetimes}). */
    MemoryPlan memoryPlan() {
        return uses.stretch(mem.build(), training, graph.nodes().size());
    }

    /**
     * Records a primitive descriptor's implementation and scratchpad (logged at debug; a {@code ref}
     * implementation is logged as a warning) and returns its scratchpad descriptor or null.
     */
    memory.desc record(String label, primitive_desc_base pd) {
        String impl = pd.impl_info_str().getString();
        implementations.put(label, impl);
        if (impl.startsWith("ref")) {
            LOG.warn("{}: oneDNN chose the reference implementation '{}' (slow)", label, impl);
        } else {
            LOG.debug("{}: {}", label, impl);
        }
        memory.desc scratch = own(pd.scratchpad_desc());
        long bytes = scratch.get_size();
        scratchpadBytes = Math.max(scratchpadBytes, bytes);
        return bytes == 0 ? null : scratch;
    }

    /** A primitive op; {@code args} alternates execution-argument keys and buffers (null buffers are skipped). */
    /**
     * {@code pd}'s primitive, created on first use (when a plan is bound): choosing layouts and sizing
     * memory needs the descriptors only, and creating a primitive (JIT code, JavaCPP bookkeeping) costs
     * more than its descriptor, so the planner's search over micro-batches never pays for it.
     */
    <D extends primitive_desc_base> OneDnnOp.Lazy lazy(D pd, java.util.function.Function<D, ? extends primitive> make) {
        return new OneDnnOp.Lazy(res, () -> make.apply(pd));
    }

    OneDnnOp.Prim prim(String label, primitive_desc_base pd, OneDnnOp.Lazy p, Object... args) {
        memory.desc scratch = record(label, pd);
        return prim(label, scratch, p, args);
    }

    /** A primitive op whose descriptor is already recorded. */
    static OneDnnOp.Prim prim(String label, memory.desc scratch, OneDnnOp.Lazy p, Object... args) {
        List<Integer> keys = new ArrayList<>();
        List<OneDnnBuffer> bufs = new ArrayList<>();
        for (int i = 0; i < args.length; i += 2) {
            if (args[i + 1] != null) {
                keys.add((Integer) args[i]);
                bufs.add((OneDnnBuffer) args[i + 1]);
            }
        }
        return new OneDnnOp.Prim(label, p, keys.stream().mapToInt(Integer::intValue).toArray(),
                bufs.toArray(new OneDnnBuffer[0]), scratch);
    }

    /** {@code dst = src} (layout conversion), or {@code dst += src} when {@code accumulate}. */
    OneDnnOp reorder(String label, OneDnnBuffer src, OneDnnBuffer dst, boolean accumulate) {
        primitive_attr a = attr();
        if (accumulate) {
            post_ops po = new post_ops();
            po.append_sum(1f, 0, memory.data_type.undef);
            a.set_post_ops(po);
        }
        reorder.primitive_desc pd = own(new reorder.primitive_desc(eng, src.md, eng, dst.md, a, false));
        return prim(label, pd, lazy(pd, reorder::new), DNNL_ARG_SRC, src, DNNL_ARG_DST, dst);
    }

    /** {@code dst = sum of srcs}; {@code srcs[0]} may be {@code dst} itself (in-place accumulation). */
    OneDnnOp sum(String label, OneDnnBuffer dst, OneDnnBuffer... srcs) {
        boolean plain = OneDnnMd.isPlain(dst.md);
        boolean same = true;
        boolean vectors = dst.md.get_ndims() == 1;
        for (OneDnnBuffer b : srcs) {
            plain &= OneDnnMd.isPlain(b.md) && b.shape.size() == dst.shape.size();
            same &= b.md.equals(dst.md) && dst.md.get_submemory_offset() == 0;
            vectors &= b.md.get_ndims() == 1;
        }
        if ((plain || same) && !vectors) {
            // Tensors of one layout (or plain ones of one size) add up element by element in memory order:
            // as vectors over their bytes, which has a fast kernel for any rank and any blocking.
            OneDnnBuffer[] f = new OneDnnBuffer[srcs.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = srcs[i] == dst ? null : vector(srcs[i]);
            }
            OneDnnBuffer d = vector(dst);
            for (int i = 0; i < f.length; i++) {
                f[i] = f[i] == null ? d : f[i];
            }
            dst = d;
            srcs = f;
        }
        float[] scales = new float[srcs.length];
        memory.desc[] mds = new memory.desc[srcs.length];
        Object[] args = new Object[2 * srcs.length + 2];
        for (int i = 0; i < srcs.length; i++) {
            scales[i] = 1f;
            mds[i] = srcs[i].md;
            args[2 * i] = DNNL_ARG_MULTIPLE_SRC + i;
            args[2 * i + 1] = srcs[i];
        }
        args[2 * srcs.length] = DNNL_ARG_DST;
        args[2 * srcs.length + 1] = dst;
        sum.primitive_desc pd = own(new sum.primitive_desc(eng, dst.md, scales, new memory_desc_vector(mds), sharedAttr, false));
        return prim(label, pd, lazy(pd, sum::new), args);
    }

    /** {@code b}'s bytes as a plain vector of its element type (padding of a blocked layout included). */
    OneDnnBuffer vector(OneDnnBuffer b) {
        return alias(b.name + ".flat", b, own(OneDnnMd.plain(b.md.get_data_type(), b.md.get_size() / OneDnnMd.elementBytes(b.md))));
    }

    /**
     * {@code src} in layout {@code want}: {@code src} itself when the layouts agree, otherwise a buffer
     * from {@code target} filled by a reorder that {@code emit} places in a program.
     */
    OneDnnBuffer convert(String label, OneDnnBuffer src, memory.desc want, Supplier<OneDnnBuffer> target,
                         Consumer<OneDnnOp> emit) {
        if (src.md.equals(want)) {
            return src;
        }
        OneDnnBuffer t = target.get();
        emit.accept(reorder(label + " (" + OneDnnMd.describe(src.md) + " -> " + OneDnnMd.describe(want) + ")", src, t,
                false));
        return t;
    }

    // ---------------------------------------------------------------- gradients of activations

    /** Registers, during the backward descriptor pass, a gradient {@code consumer} will add to {@code producer}'s. */
    Contribution contribution(Node consumer, String producer, String what, memory.desc md, boolean passThrough) {
        Contribution c = new Contribution(consumer, producer, what, own(md), passThrough);
        contributions.computeIfAbsent(producer, k -> new ArrayList<>()).add(c);
        return c;
    }

    /**
     * The layout for {@code node}'s gradient that needs the fewest reorders: among the layouts its own
     * backward primitives want ({@code wanted}, nulls ignored, the first preferred on ties) and those its
     * consumers' contributions arrive in (registered before, consumers being planned first).
     */
    memory.desc preferredGradient(Node node, memory.desc... wanted) {
        List<memory.desc> candidates = new ArrayList<>();
        List<memory.desc> arriving = new ArrayList<>();
        for (memory.desc w : wanted) {
            if (w != null) {
                candidates.add(w);
            }
        }
        for (Contribution c : contributions.getOrDefault(node.name(), List.of())) {
            arriving.add(c.md);
            candidates.add(c.md);
        }
        memory.desc best = null;
        int bestCost = Integer.MAX_VALUE;
        for (memory.desc d : candidates) {
            int cost = 0;
            for (memory.desc w : wanted) {
                cost += w != null && !w.equals(d) ? 1 : 0;
            }
            for (memory.desc a : arriving) {
                cost += a.equals(d) ? 0 : 1;
            }
            // Only the element type the node's own backward reads (a bf16 contribution to an f32 gradient is converted).
            boolean dense = OneDnnMd.blocked(d) && d.get_submemory_offset() == 0 && d.get_size() <= wanted[0].get_size()
                    && OneDnnMd.sameType(d, wanted[0]);
            if (cost < bestCost && dense) {
                best = d;
                bestCost = cost;
            }
        }
        return best != null ? best : wanted[0];
    }

    /**
     * Whether {@link #declareGradient}{@code (node, md)} will give {@code node} a gradient buffer of its own (not a
     * view of a consumer's, not the loss gradient): then {@code node}'s backward may overwrite it in place.
     */
    boolean ownsGradient(Node node, memory.desc md) {
        List<Contribution> cs = contributions.getOrDefault(node.name(), List.of());
        return node != graph.output() && !(cs.size() == 1 && cs.get(0).passThrough && cs.get(0).md.equals(md));
    }

    /**
     * Declares {@code node}'s gradient buffer in layout {@code md} once all its consumers have
     * registered their contributions. A single pass-through contribution in the same layout becomes
     * the buffer itself (no copy).
     */
    void declareGradient(Node node, memory.desc md) {
        List<Contribution> cs = contributions.getOrDefault(node.name(), List.of());
        boolean lossFirst = node == graph.output();
        for (int i = 0; i < cs.size(); i++) {
            Contribution c = cs.get(i);
            c.first = i == 0 && !lossFirst;
            if (c.passThrough) {
                OneDnnBuffer consumerDiff = diff(c.consumer.name());
                c.existing = c.md.equals(consumerDiff.md) ? consumerDiff : alias(c.name, consumerDiff, c.md);
            }
        }
        OneDnnBuffer d;
        if (!lossFirst && cs.size() == 1 && cs.get(0).passThrough && cs.get(0).md.equals(md)) {
            d = cs.get(0).existing;
        } else {
            d = gradient(node, md);
        }
        diffs.put(node.name(), d);
    }

    /** Where a primitive should write contribution {@code c}: the producer's gradient itself when possible. */
    OneDnnBuffer target(Contribution c) {
        OneDnnBuffer d = diff(c.producer);
        if (c.first && c.md.equals(d.md)) {
            return d;
        }
        c.temp = temporary(c.consumer, c.what, Kind.ACTIVATION_GRADIENT, c.md, backwardStep(c.consumer));
        return c.temp;
    }

    /** Emits what moves contribution {@code c} into its producer's gradient (nothing when written in place). */
    void fold(Contribution c) {
        OneDnnBuffer d = diff(c.producer);
        OneDnnBuffer src = c.passThrough ? c.existing : c.temp;
        if (src == null || src == d) {
            return;
        }
        String label = c.consumer.name() + " -> " + c.producer + " gradient";
        if (c.first) {
            backward(reorder(label + " (copy)", src, d, false));
        } else if (src.md.equals(d.md)) {
            backward(sum(label + " (sum)", d, d, src));
        } else {
            backward(reorder(label + " (reorder+sum)", src, d, true));
        }
    }

    // ---------------------------------------------------------------- gradients of parameters

    /** Declares where a backward primitive writes the gradient of {@code param} (logical dims {@code dims}). */
    GradOut gradOut(Node node, String param, int argKey, memory.desc produced, long... dims) {
        return gradOut(node, param, argKey, produced, true, dims);
    }

    /** As above; {@code accumulates}: false when this primitive only serves OVERWRITE (no temporary if direct). */
    GradOut gradOut(Node node, String param, int argKey, memory.desc produced, boolean accumulates, long... dims) {
        OneDnnBuffer view = parameter(node, param, OneDnnBuffer.Store.GRADIENTS, dims);
        boolean direct = produced.equals(view.md);
        OneDnnBuffer temp = direct && !accumulates ? null
                : temporary(node, "diff_" + param, Kind.WORKSPACE, produced, backwardStep(node));
        return new GradOut(argKey, view, temp, direct);
    }

    /**
     * Emits a backward primitive producing parameter gradients, once per gradient mode: OVERWRITE
     * writes the plain gradient slots in place where the layouts agree (reordering otherwise),
     * ACCUMULATE computes into temporaries and adds them with a sum (or a reorder with a sum post-op).
     */
    void backwardWithGradients(String label, memory.desc scratch, OneDnnOp.Lazy p, Object[] fixedArgs, GradOut... outs) {
        backwardWithGradients(null, label, scratch, p, fixedArgs, outs);
    }

    /** As above, for one gradient mode only ({@code only}), or both when null. */
    void backwardWithGradients(GradientMode only, String label, memory.desc scratch, OneDnnOp.Lazy p, Object[] fixedArgs,
                               GradOut... outs) {
        for (GradientMode mode : GradientMode.values()) {
            if (only != null && mode != only) {
                continue;
            }
            List<Object> args = new ArrayList<>(java.util.Arrays.asList(fixedArgs));
            for (GradOut g : outs) {
                if (g == null) {
                    continue;
                }
                args.add(g.argKey);
                args.add(mode == GradientMode.OVERWRITE && g.direct ? g.view : g.temp);
            }
            backward(prim(label, scratch, p, args.toArray()), mode);
            for (GradOut g : outs) {
                if (g == null) {
                    continue;
                }
                if (mode == GradientMode.OVERWRITE) {
                    if (!g.direct) {
                        backward(reorder(g.view.name + " (reorder)", g.temp, g.view, false), mode);
                    }
                } else if (g.direct) {
                    backward(sum(g.view.name + " (accumulate)", g.view, g.view, g.temp), mode);
                } else {
                    backward(reorder(g.view.name + " (reorder+accumulate)", g.temp, g.view, true), mode);
                }
            }
        }
    }

    /** The shared scratchpad: one buffer sized by the largest primitive scratchpad. */
    void declareScratchpad() {
        if (scratchpadBytes > 0) {
            mem.whole("scratchpad", null, Kind.SCRATCHPAD, scratchpadBytes);
        }
    }
}
