package io.batchwise.benchmarks;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_SCALES;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_0;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.inner_product_backward_data;
import org.bytedeco.dnnl.inner_product_backward_weights;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_backward;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.softmax_forward;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * A hand-written training loop that drives oneDNN directly: the ceiling Batchwise's training step is measured
 * against ({@link DirectStepBenchmark}, {@link DirectAccumulationBenchmark}). Same models as
 * {@code Models.byName("mlp")} / {@code ("lenet")}, softmax cross-entropy (mean over the effective batch), plain
 * SGD lr {@value #LR}, float32; an effective batch of {@code k x m} samples as {@code k} micro-batches of {@code m}.
 *
 * <p>Everything is built once in the constructor; {@link #step()} only executes primitives:
 * <ul>
 * <li>forward: inner product / convolution ({@code forward_training}, layouts {@code any}) with the ReLU fused as
 *     an eltwise post-op; max pooling with its workspace; the fully connected layer after the last pooling reads
 *     the pooled 4-D tensor in the pooling's layout (weights {@code (120, 16, 4, 4)}), no flatten copy;</li>
 * <li>loss: ONE softmax primitive whose post-ops turn its output into the loss gradient,
 *     {@code dst = (softmax(logits) - onehot) / (k m)}: a binary-sub post-op against one-hot labels written at
 *     setup, then an eltwise-linear post-op. The loss value is not computed on the hot path ({@link #lastLoss()}
 *     derives it from that gradient, for tests);</li>
 * <li>backward: the fused ReLU's backward is {@code eltwise_backward} with {@code eltwise_relu_use_dst_for_bwd}
 *     reading the forward's output, in place on the gradient; backward-data and backward-weights primitives with
 *     the forward as hint, each tensor pinned to the layout it already has where oneDNN has a fast kernel for it,
 *     else {@code any}; a reorder only where a primitive's layout differs from the tensor it reads (every op,
 *     reorders included, is listed with its implementation in {@link #implementations()});</li>
 * <li>parameters: one flat native buffer, each weight at a 64-byte aligned offset in the layout its forward
 *     primitive chose; the gradients in the same layouts at the same offsets of one flat gradient buffer
 *     (backward-weights primitives are pinned to the weights' layout), so the SGD update {@code w = w - lr g} is
 *     ONE primitive over the whole flat buffer, in place: a binary add with a run-time scale of {@code -lr} on
 *     the gradient, measured 2.5x faster than a {@code sum} with scales {@code {1, -lr}} (see {@link #build});</li>
 * <li>accumulation ({@code k > 1}): micro-batch 0 overwrites the gradient buffer; the others add to it in place,
 *     without a temporary: a fully connected layer's {@code dW += diff_dst^T . src} and {@code db += 1^T . diff_dst}
 *     are matmuls with a sum post-op straight into the gradient slots (the same brgemm kernel oneDNN runs for the
 *     inner product's backward-weights); a convolution writes its (small) gradient to a temporary that one flat
 *     binary add adds in. (Giving each micro-batch its own gradient buffer and folding all k into one update
 *     {@code sum} of k + 1 sources measured 8 x 64 / 1 x 512 = 1.23 for the MLP against 1.07 this way: that update
 *     reads 8 gradient buffers of 0.9 MB.)</li>
 * <li>no allocation and no Java/native copy per step: the synthetic batch and its one-hot labels are written once
 *     in the constructor; primitives run through the C API ({@code dnnl_primitive_execute}) with argument arrays
 *     built at setup (the C++ {@code execute(stream, map)} turns its map into a new vector on every call).</li>
 * </ul>
 * Threads: oneDNN's OpenMP pool, sized by OMP_NUM_THREADS, as for Batchwise. Closing frees every native object,
 * in reverse order of creation. Every primitive's implementation and argument layouts are listed by
 * {@link #implementations()}, printed to stderr at setup with {@code -Dbatchwise.direct.print=true}; one that runs
 * oneDNN's reference ({@code ref}) implementation is always reported on stderr.
 *
 * <p>Layouts (oneDNN 3.11 on this AVX-512 Zen 5; see {@link #implementations()}): MLP is plain throughout
 * ({@code brg_matmul}). LeNet-5: the first convolution reads the plain {@code nchw} input and writes
 * {@code nChw16c}, so conv1's backward-weights, ReLU and pool1 run blocked; conv2 has no fast kernel for a 6-channel
 * blocked source, so pool1's output is reordered to {@code nhwc} once, and conv2, pool2 and fc1 run channels-last;
 * conv2's backward-data is fastest blocked and writes pool1's gradient in pool1's own layout. A channels-last
 * first convolution ({@code nhwc} source, the Zen 3 / AVX2 recommendation of +35%) measured ~30% SLOWER end to end
 * here (short runs on the shared 2-core machine, LeNet b=128: 30-32k against 42-45k samples/s with
 * OMP_NUM_THREADS=1, 55k against 75k with 2; per primitive, {@link #profile}): with
 * 6 channels, channels-last max-pool backward (470 against 125 us) and conv1 backward-weights (700 against 400 us)
 * lose far more than the blocked ReLU backward's padding (6 to 16 channels) costs.
 */
final class DirectLoop implements AutoCloseable {
    static final float LR = 0.01f;
    static final int CLASSES = 10;
    private static final int PIXELS = 28 * 28;
    /** (model, m, k) configurations whose primitives were already printed in this JVM ({@code -Dbatchwise.direct.print=true}). */
    private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

    private static final long[] ONE = {1, 1};
    private static final long[] TWO = {2, 2};
    private static final long[] ZERO = {0, 0};

    /** Layers, by the node names of {@code Models.mlp()} / {@code Models.lenet()}. */
    private sealed interface Spec permits Fc, Conv, Pool {
        String name();
    }

    private record Fc(String name, int units, boolean relu) implements Spec {
    }

    private record Conv(String name, int channels, int kernel, boolean relu) implements Spec {
    }

    private record Pool(String name) implements Spec {
    }

    private static List<Spec> specs(String model) {
        return switch (model) {
            case "mlp" -> List.of(new Fc("fc1", 256, true), new Fc("fc2", 128, true), new Fc("fc3", CLASSES, false));
            case "lenet" -> List.of(new Conv("conv1", 6, 5, true), new Pool("pool1"), new Conv("conv2", 16, 5, true),
                    new Pool("pool2"), new Fc("fc1", 120, true), new Fc("fc2", 84, true), new Fc("fc3", CLASSES, false));
            default -> throw new IllegalArgumentException("direct loop models: mlp, lenet; got '" + model + "'");
        };
    }

    /** When an op runs in a step of k micro-batches. */
    private enum Phase {
        EVERY, FIRST, REST, AFTER;

        String tag() {
            return switch (this) {
                case EVERY -> "";
                case FIRST -> "[micro-batch 0] ";
                case REST -> "[micro-batches 1..k-1] ";
                case AFTER -> "[once per step] ";
            };
        }
    }

    /** A tensor: its layout and one memory, or one per micro-batch (the input and the one-hot labels). */
    private static final class Buf {
        final memory.desc md;
        final memory[] m;

        Buf(memory.desc md, memory... m) {
            this.md = md;
            this.m = m;
        }

        memory at(int micro) {
            return m.length == 1 ? m[0] : m[micro];
        }
    }

    private record Op(Phase phase, primitive p, int[] keys, Buf[] bufs, String impl, String description) {
    }

    /** A parameter tensor: {@code dims} its logical (plain) shape, {@code md} its layout, at {@code offset} floats. */
    private record Slot(String node, String param, long[] dims, memory.desc md, long offset) {
        long floats() {
            return md.get_size() / 4;
        }
    }

    /** A layer's descriptors and tensors, filled by the forward part of the build and read by the backward part. */
    private static final class Layer {
        Spec spec;
        long[] srcDims;
        long[] wDims;
        long[] dstDims;
        primitive_desc_base fwd;
        Buf in; // the previous layer's output (or the input)
        Buf src; // what the forward reads: in, or its reorder into the forward's layout
        Buf dst;
        Buf workspace; // max pooling
        Slot weight;
        Slot bias;
    }

    private final String model;
    private final int micro;
    private final int k;
    private final List<Pointer> owned = new ArrayList<>();
    private float[] batch; // the (k m, ...) input samples, for stagedStep
    private FloatPointer batchMemory; // where they live natively (k consecutive micro-batches)
    private final List<Op> ops = new ArrayList<>();
    private final List<Slot> slots = new ArrayList<>();
    private final List<Layer> layers = new ArrayList<>();
    private final int[] labels;
    private engine eng;
    private stream strm;
    private long flatSize; // floats in the flat weight buffer, and in the flat gradient buffer
    private memory weights;
    private memory gradients;
    private Buf gradient; // the loss gradient (m, 10)
    private Buf ones; // (1, m) of 1: bias gradients as matmuls when accumulating

    // The hot path: op handles and, per op and micro-batch, its C argument array; the ops of each phase.
    private dnnl_stream cStream;
    private dnnl_primitive[] cPrims;
    private int[] cArgCount;
    private dnnl_exec_arg_t[][] cArgs; // [op][micro-batch]
    private int[] first; // op indices run for micro-batch 0
    private int[] rest; // ... for micro-batches 1..k-1
    private int[] after; // ... once after them
    private boolean closed;

    /**
     * @param model  {@code mlp} or {@code lenet}
     * @param micro  samples per micro-batch, {@code m}
     * @param k      micro-batches per step
     * @param x      {@code k m} images {@code (1, 28, 28)}, sample-major
     * @param labels {@code k m} labels in {@code [0, 10)}
     */
    @SuppressWarnings("try") // the PointerScope frees the temporaries of the build
    DirectLoop(String model, int micro, int k, float[] x, int[] labels) {
        if (micro < 1 || k < 1 || x.length != (long) k * micro * PIXELS || labels.length != k * micro) {
            throw new IllegalArgumentException("need " + k + " x " + micro + " samples of " + PIXELS + " pixels and labels, got "
                    + x.length + " pixels and " + labels.length + " labels");
        }
        this.model = model;
        this.micro = micro;
        this.k = k;
        this.labels = labels.clone();
        try (PointerScope scope = new PointerScope()) {
            build(specs(model), x);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        if (Boolean.getBoolean("batchwise.direct.print") && LOGGED.add(model + "/" + micro + "/" + k)) {
            System.err.printf("direct oneDNN loop: %s, %d x %d samples per step, %d primitives:%n", model, k, micro, ops.size());
            implementations().forEach(s -> System.err.println("  " + s));
        }
        referenceImplementations().forEach(s -> System.err.println("direct oneDNN loop " + model + ": SLOW reference kernel: " + s));
    }

    // ------------------------------------------------------------------ building

    private void build(List<Spec> specs, float[] x) {
        eng = own(new engine(engine.kind.cpu, 0));
        strm = own(new stream(eng));
        cStream = strm.get();

        // The batch: images (k m, 1, 28, 28) and one-hot labels (k m, 10), plain, written once; a view per micro-batch.
        long[] inDims = specs.get(0) instanceof Conv ? new long[] {micro, 1, 28, 28} : new long[] {micro, PIXELS};
        Buf input = perMicro(plain(inDims), x);
        batch = x;
        batchMemory = new FloatPointer(input.m[0].get_data_handle());
        float[] onehot = new float[k * micro * CLASSES];
        for (int i = 0; i < labels.length; i++) {
            onehot[i * CLASSES + labels[i]] = 1f;
        }
        Buf hot = perMicro(plain(micro, CLASSES), onehot);

        // Forward descriptors; each weight's chosen layout fixes its slot in the flat buffers.
        Buf cur = input;
        long[] dims = inDims;
        long offset = 0;
        for (Spec s : specs) {
            Layer l = new Layer();
            l.spec = s;
            l.srcDims = dims;
            l.in = cur;
            memory.desc srcMd = cur.md;
            if (s instanceof Fc f) {
                l.wDims = dims.clone();
                l.wDims[0] = f.units(); // (units, in...): a 4-D source keeps its layout, no flatten
                l.dstDims = new long[] {micro, f.units()};
                primitive_attr attr = f.relu() ? reluAttr() : attr();
                l.fwd = firstFast(f.name() + " forward",
                        () -> new inner_product_forward.primitive_desc(eng, prop_kind.forward_training, srcMd, any(l.wDims),
                                plain(f.units()), any(l.dstDims), attr, false),
                        () -> new inner_product_forward.primitive_desc(eng, prop_kind.forward_training, any(l.srcDims),
                                any(l.wDims), plain(f.units()), any(l.dstDims), attr, false));
            } else if (s instanceof Conv c) {
                l.wDims = new long[] {c.channels(), dims[1], c.kernel(), c.kernel()};
                l.dstDims = new long[] {micro, c.channels(), dims[2] - c.kernel() + 1, dims[3] - c.kernel() + 1};
                primitive_attr attr = reluAttr();
                // The producer's layout if oneDNN has a fast kernel for it (conv1: the plain nchw input, see the class
                // comment), else channels-last (conv2: no fast kernel reads a 6-channel nChw16c), else its choice.
                l.fwd = firstFast(c.name() + " forward",
                        () -> new convolution_forward.primitive_desc(eng, prop_kind.forward_training,
                                algorithm.convolution_direct, srcMd, any(l.wDims), plain(c.channels()), any(l.dstDims),
                                ONE, ZERO, ZERO, ZERO, attr, false),
                        () -> new convolution_forward.primitive_desc(eng, prop_kind.forward_training,
                                algorithm.convolution_direct, nhwc(l.srcDims), any(l.wDims), plain(c.channels()),
                                any(l.dstDims), ONE, ZERO, ZERO, ZERO, attr, false),
                        () -> new convolution_forward.primitive_desc(eng, prop_kind.forward_training,
                                algorithm.convolution_direct, any(l.srcDims), any(l.wDims), plain(c.channels()),
                                any(l.dstDims), ONE, ZERO, ZERO, ZERO, attr, false));
            } else {
                l.dstDims = new long[] {micro, dims[1], dims[2] / 2, dims[3] / 2};
                l.fwd = firstFast(s.name() + " forward",
                        () -> new pooling_forward.primitive_desc(eng, prop_kind.forward_training, algorithm.pooling_max,
                                srcMd, any(l.dstDims), TWO, TWO, ZERO, ZERO, ZERO, attr(), false));
                l.workspace = alloc(own(((pooling_forward.primitive_desc) l.fwd).workspace_desc()));
            }
            if (!(s instanceof Pool)) {
                l.weight = new Slot(s.name(), "weight", l.wDims, own(l.fwd.weights_desc()), offset);
                offset = align(offset + l.weight.floats());
                l.bias = new Slot(s.name(), "bias", new long[] {l.wDims[0]}, plain(l.wDims[0]), offset);
                offset = align(offset + l.bias.floats());
                slots.add(l.weight);
                slots.add(l.bias);
            }
            l.dst = alloc(own(l.fwd.dst_desc()));
            layers.add(l);
            cur = l.dst;
            dims = l.dstDims;
        }

        // The flat buffers, zeroed (the padding of a blocked layout must stay 0).
        flatSize = Math.max(offset, 16);
        weights = own(new memory(plain(flatSize), eng));
        gradients = own(new memory(plain(flatSize), eng));
        Pointer.memset(weights.get_data_handle(), 0, 4 * flatSize);
        Pointer.memset(gradients.get_data_handle(), 0, 4 * flatSize);
        if (k > 1) {
            ones = alloc(plain(1, micro));
            float[] o = new float[micro];
            Arrays.fill(o, 1f);
            new FloatPointer(ones.m[0].get_data_handle()).put(o);
        }

        // Forward ops.
        for (Layer l : layers) {
            l.src = convert(l.spec.name() + " src", l.in, own(l.fwd.src_desc()), Phase.EVERY);
            if (l.spec instanceof Pool) {
                add(Phase.EVERY, l.spec.name() + " forward", l.fwd, new pooling_forward((pooling_forward.primitive_desc) l.fwd),
                        DNNL_ARG_SRC, l.src, DNNL_ARG_DST, l.dst, DNNL_ARG_WORKSPACE, l.workspace);
            } else {
                primitive p = l.spec instanceof Fc ? new inner_product_forward((inner_product_forward.primitive_desc) l.fwd)
                        : new convolution_forward((convolution_forward.primitive_desc) l.fwd);
                add(Phase.EVERY, l.spec.name() + " forward" + (relu(l.spec) ? " + relu" : ""), l.fwd, p, DNNL_ARG_SRC, l.src,
                        DNNL_ARG_WEIGHTS, view(l.weight, weights), DNNL_ARG_BIAS, view(l.bias, weights), DNNL_ARG_DST, l.dst);
            }
        }

        // Loss gradient: dst = (softmax(logits) - onehot) / (k m), one primitive.
        Layer last = layers.get(layers.size() - 1);
        primitive_attr lossAttr = attr();
        post_ops po = own(new post_ops());
        po.append_binary(algorithm.binary_sub, plain(micro, CLASSES));
        po.append_eltwise(algorithm.eltwise_linear, 1f / (k * micro), 0f);
        lossAttr.set_post_ops(po);
        softmax_forward.primitive_desc smPd = firstFast("loss",
                () -> new softmax_forward.primitive_desc(eng, prop_kind.forward_training, algorithm.softmax_accurate,
                        last.dst.md, plain(micro, CLASSES), 1, lossAttr, false));
        gradient = alloc(own(smPd.dst_desc()));
        add(Phase.EVERY, "loss gradient (softmax - onehot) / " + (k * micro), smPd, new softmax_forward(smPd), DNNL_ARG_SRC,
                last.dst, DNNL_ARG_DST, gradient, DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE | DNNL_ARG_SRC_1, hot);

        // Backward, last layer first; g: the gradient of the current layer's output.
        Buf g = gradient;
        for (int i = layers.size() - 1; i >= 0; i--) {
            g = backward(layers.get(i), i > 0, g);
        }

        // SGD: w = w + (-lr) g over the whole flat buffer, in place: one binary add, its second source scaled by -lr
        // (a run-time scale written once). Not the sum primitive with scales {1, -lr}: oneDNN 3.11 has only a plain
        // C++ loop for an f32 sum ("simple:any"), 57 us per update of the MLP's 235k floats against 22 us for the
        // jitted binary ("jit:uni", 1 thread); that alone made the direct loop slower than Batchwise at batch 1.
        memory.desc flat = plain(flatSize);
        Buf w = new Buf(flat, weights);
        primitive_attr scaled = attr();
        scaled.set_scales_mask(DNNL_ARG_SRC_1, 0);
        binary.primitive_desc sgdPd = firstFast("sgd", () -> new binary.primitive_desc(eng, algorithm.binary_add, flat, flat, flat,
                scaled, false));
        Buf minusLr = alloc(plain(1));
        new FloatPointer(minusLr.m[0].get_data_handle()).put(-LR);
        add(Phase.AFTER, "sgd w = w - " + LR + " g over " + flatSize + " floats", sgdPd, new binary(sgdPd),
                DNNL_ARG_SRC_0, w, DNNL_ARG_SRC_1, new Buf(flat, gradients), DNNL_ARG_DST, w,
                DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC_1, minusLr);

        // The hot path's C argument arrays, one per (op, micro-batch), and each phase's op indices.
        int n = ops.size();
        cPrims = new dnnl_primitive[n];
        cArgCount = new int[n];
        cArgs = new dnnl_exec_arg_t[n][k];
        List<Integer> f = new ArrayList<>();
        List<Integer> r = new ArrayList<>();
        List<Integer> a = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            Op op = ops.get(j);
            cPrims[j] = op.p().get();
            cArgCount[j] = op.keys().length;
            for (int i = 0; i < k; i++) {
                dnnl_exec_arg_t args = own(new dnnl_exec_arg_t(op.keys().length));
                for (int t = 0; t < op.keys().length; t++) {
                    args.position(t).arg(op.keys()[t]).memory(op.bufs()[t].at(i).get());
                }
                cArgs[j][i] = args.position(0);
            }
            switch (op.phase()) {
                case EVERY -> {
                    f.add(j);
                    r.add(j);
                }
                case FIRST -> f.add(j);
                case REST -> r.add(j);
                case AFTER -> a.add(j);
            }
        }
        first = f.stream().mapToInt(Integer::intValue).toArray();
        rest = r.stream().mapToInt(Integer::intValue).toArray();
        after = a.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Emits {@code l}'s backward ops for the gradient {@code g} of its output; returns the gradient of its input. */
    private Buf backward(Layer l, boolean needDiffSrc, Buf g) {
        Spec s = l.spec;
        String name = s.name();
        if (s instanceof Pool) {
            pooling_backward.primitive_desc pd = firstFast(name + " backward",
                    () -> new pooling_backward.primitive_desc(eng, algorithm.pooling_max, any(l.srcDims), any(l.dstDims), TWO, TWO,
                            ZERO, ZERO, ZERO, (pooling_forward.primitive_desc) l.fwd, attr(), false));
            Buf in = convert(name + " diff_dst", g, own(pd.diff_dst_desc()), Phase.EVERY);
            Buf out = alloc(own(pd.diff_src_desc()));
            add(Phase.EVERY, name + " backward", pd, new pooling_backward(pd), DNNL_ARG_DIFF_DST, in, DNNL_ARG_WORKSPACE,
                    l.workspace, DNNL_ARG_DIFF_SRC, out);
            return out;
        }
        if (relu(s)) {
            // relu'(x) = [y > 0] from the fused forward's output y, in place on the gradient.
            memory.desc arriving = g.md;
            eltwise_forward.primitive_desc hint = own(new eltwise_forward.primitive_desc(eng, prop_kind.forward_training,
                    algorithm.eltwise_relu_use_dst_for_bwd, l.dst.md, l.dst.md, 0f, 0f, attr(), false));
            eltwise_backward.primitive_desc pd = firstFast(name + " relu backward",
                    () -> new eltwise_backward.primitive_desc(eng, algorithm.eltwise_relu_use_dst_for_bwd, arriving, arriving,
                            l.dst.md, 0f, 0f, hint, attr(), false),
                    () -> new eltwise_backward.primitive_desc(eng, algorithm.eltwise_relu_use_dst_for_bwd, any(l.dstDims),
                            any(l.dstDims), l.dst.md, 0f, 0f, hint, attr(), false));
            Buf in = convert(name + " relu diff_dst", g, own(pd.diff_dst_desc()), Phase.EVERY);
            Buf out = pd.diff_src_desc().equals(in.md) ? in : alloc(own(pd.diff_src_desc()));
            add(Phase.EVERY, name + " relu backward" + (out == in ? " (in place)" : ""), pd, new eltwise_backward(pd),
                    DNNL_ARG_DST, l.dst, DNNL_ARG_DIFF_DST, in, DNNL_ARG_DIFF_SRC, out);
            g = out;
        }
        boolean fc = s instanceof Fc;
        memory.desc gMd = g.md;
        memory.desc wMd = l.weight.md();
        memory.desc bMd = l.bias.md();
        memory.desc srcMd = l.src.md;
        memory.desc inMd = l.in.md; // the layout the previous layer produced: its backward reads this gradient
        Buf diffSrc = null;
        if (needDiffSrc) {
            // Candidates from no reorder (gradient of the input in the input's layout, weights as stored, the
            // arriving gradient as is) to oneDNN's free choice.
            primitive_desc_base pd;
            if (fc) {
                var hint = (inner_product_forward.primitive_desc) l.fwd;
                pd = firstFast(name + " backward data",
                        () -> new inner_product_backward_data.primitive_desc(eng, inMd, wMd, gMd, hint, attr(), false),
                        () -> new inner_product_backward_data.primitive_desc(eng, any(l.srcDims), wMd, gMd, hint, attr(), false),
                        () -> new inner_product_backward_data.primitive_desc(eng, any(l.srcDims), any(l.wDims), any(l.dstDims),
                                hint, attr(), false));
            } else {
                var hint = (convolution_forward.primitive_desc) l.fwd;
                pd = firstFast(name + " backward data",
                        () -> convBwdData(l, inMd, wMd, gMd, hint),
                        () -> convBwdData(l, inMd, any(l.wDims), gMd, hint),
                        () -> convBwdData(l, inMd, wMd, any(l.dstDims), hint),
                        () -> convBwdData(l, inMd, any(l.wDims), any(l.dstDims), hint),
                        () -> convBwdData(l, any(l.srcDims), any(l.wDims), any(l.dstDims), hint));
            }
            Buf dd = convert(name + " diff_dst for data", g, own(pd.diff_dst_desc()), Phase.EVERY);
            Buf w = convert(name + " weights for data", view(l.weight, weights), own(pd.weights_desc()), Phase.EVERY);
            diffSrc = alloc(own(pd.diff_src_desc()));
            primitive p = fc ? new inner_product_backward_data((inner_product_backward_data.primitive_desc) pd)
                    : new convolution_backward_data((convolution_backward_data.primitive_desc) pd);
            add(Phase.EVERY, name + " backward data", pd, p, DNNL_ARG_DIFF_DST, dd, DNNL_ARG_WEIGHTS, w, DNNL_ARG_DIFF_SRC,
                    diffSrc);
        }

        // Weights: the gradient pinned to the weights' own layout (the flat update needs it), the source as the
        // forward read it, where oneDNN has a fast kernel for that.
        primitive_desc_base pd;
        if (fc) {
            var hint = (inner_product_forward.primitive_desc) l.fwd;
            pd = firstFast(name + " backward weights",
                    () -> new inner_product_backward_weights.primitive_desc(eng, srcMd, wMd, bMd, gMd, hint, attr(), false),
                    () -> new inner_product_backward_weights.primitive_desc(eng, srcMd, wMd, bMd, any(l.dstDims), hint, attr(),
                            false),
                    () -> new inner_product_backward_weights.primitive_desc(eng, any(l.srcDims), wMd, bMd, any(l.dstDims), hint,
                            attr(), false),
                    () -> new inner_product_backward_weights.primitive_desc(eng, any(l.srcDims), any(l.wDims), bMd,
                            any(l.dstDims), hint, attr(), false));
        } else {
            var hint = (convolution_forward.primitive_desc) l.fwd;
            pd = firstFast(name + " backward weights",
                    () -> convBwdWeights(l, srcMd, wMd, gMd, hint),
                    () -> convBwdWeights(l, srcMd, wMd, any(l.dstDims), hint),
                    () -> convBwdWeights(l, any(l.srcDims), wMd, any(l.dstDims), hint),
                    () -> convBwdWeights(l, any(l.srcDims), any(l.wDims), any(l.dstDims), hint));
        }
        Buf src = convert(name + " src for weights", l.src, own(pd.src_desc()), Phase.EVERY);
        Buf dd = convert(name + " diff_dst for weights", g, own(pd.diff_dst_desc()), Phase.EVERY);
        memory.desc dwMd = own(pd.diff_weights_desc());
        Buf gw = view(l.weight, gradients);
        Buf gb = view(l.bias, gradients);
        primitive p = fc ? new inner_product_backward_weights((inner_product_backward_weights.primitive_desc) pd)
                : new convolution_backward_weights((convolution_backward_weights.primitive_desc) pd);
        Phase once = k == 1 ? Phase.EVERY : Phase.FIRST;
        Buf dw = dwMd.equals(wMd) ? gw : alloc(dwMd);
        add(once, name + " backward weights", pd, p, DNNL_ARG_SRC, src, DNNL_ARG_DIFF_DST, dd, DNNL_ARG_DIFF_WEIGHTS, dw,
                DNNL_ARG_DIFF_BIAS, gb);
        if (dw != gw) {
            convertInto(name + " weight gradient", dw, gw, once, false);
        }
        if (k > 1) {
            if (fc && accumulateAsMatmul(l, g, gw, gb)) {
                return diffSrc;
            }
            // Into a temporary laid out like the layer's slots, then one sum adds it to them.
            long from = l.weight.offset();
            long to = l.bias.offset() + l.bias.floats();
            Buf temp = alloc(plain(to - from));
            long base = temp.m[0].get_data_handle().address() - 4 * from;
            Buf tw = new Buf(wMd, own(new memory(wMd, eng, at(base + 4 * l.weight.offset()))));
            Buf tb = new Buf(bMd, own(new memory(bMd, eng, at(base + 4 * l.bias.offset()))));
            Buf dwTemp = dwMd.equals(wMd) ? tw : alloc(dwMd);
            add(Phase.REST, name + " backward weights", pd, p, DNNL_ARG_SRC, src, DNNL_ARG_DIFF_DST, dd, DNNL_ARG_DIFF_WEIGHTS,
                    dwTemp, DNNL_ARG_DIFF_BIAS, tb);
            if (dwTemp != tw) {
                convertInto(name + " weight gradient", dwTemp, tw, Phase.REST, false);
            }
            memory.desc range = plain(to - from);
            Buf slotsRange = new Buf(range, own(new memory(range, eng, at(gradients.get_data_handle().address() + 4 * from))));
            binary.primitive_desc apd = firstFast(name + " gradients += temporary",
                    () -> new binary.primitive_desc(eng, algorithm.binary_add, range, range, range, attr(), false));
            add(Phase.REST, name + " gradients += temporary", apd, new binary(apd), DNNL_ARG_SRC_0, slotsRange,
                    DNNL_ARG_SRC_1, temp, DNNL_ARG_DST, slotsRange);
        }
        return diffSrc;
    }

    /**
     * Micro-batches 1..k-1 of a fully connected layer: {@code dW{units, in} += diff_dst^T{units, m} . src{m, in}} and
     * {@code db{1, units} += ones{1, m} . diff_dst{m, units}}, matmuls with a sum post-op writing the gradient slots.
     * Needs the source and the weights to order the {@code in} elements alike (dense, no blocking): then both are
     * plain matrices over the same column order. False (nothing emitted) otherwise.
     */
    private boolean accumulateAsMatmul(Layer l, Buf g, Buf gw, Buf gb) {
        long units = l.wDims[0];
        long in = product(l.wDims) / units;
        long[] srcOrder = matrixOrder(l.src.md, in);
        long[] wOrder = matrixOrder(l.weight.md(), in);
        if (srcOrder == null || !Arrays.equals(srcOrder, wOrder)) {
            return false;
        }
        Buf dd = convert(l.spec.name() + " diff_dst, plain", g, plain(micro, units), Phase.REST);
        memory.desc ddT = own(new memory.desc(new long[] {units, micro}, memory.data_type.f32, new long[] {1, units}));
        memory.desc src2 = plain(micro, in);
        memory.desc dw2 = plain(units, in);
        memory.desc db2 = plain(1, units);
        primitive_attr sumAttr = attr();
        post_ops po = own(new post_ops());
        po.append_sum(1f, 0, memory.data_type.undef);
        sumAttr.set_post_ops(po);
        matmul.primitive_desc mw = firstFast(l.spec.name() + " weight gradient += diff_dst^T . src",
                () -> new matmul.primitive_desc(eng, ddT, src2, dw2, sumAttr, false));
        add(Phase.REST, l.spec.name() + " weight gradient += diff_dst^T . src", mw, new matmul(mw),
                DNNL_ARG_SRC, reinterpret(dd, ddT), DNNL_ARG_WEIGHTS, reinterpret(l.src, src2), DNNL_ARG_DST, reinterpret(gw, dw2));
        matmul.primitive_desc mb = firstFast(l.spec.name() + " bias gradient += ones . diff_dst",
                () -> new matmul.primitive_desc(eng, ones.md, dd.md, db2, sumAttr, false));
        add(Phase.REST, l.spec.name() + " bias gradient += ones . diff_dst", mb, new matmul(mb), DNNL_ARG_SRC, ones,
                DNNL_ARG_WEIGHTS, dd, DNNL_ARG_DST, reinterpret(gb, db2));
        return true;
    }

    /** The strides of dims 1.. when {@code md} is a dense, unblocked {@code (n, in...)} matrix with rows of {@code in}; else null. */
    @SuppressWarnings("try")
    private static long[] matrixOrder(memory.desc md, long in) {
        if (md.get_format_kind().value != memory.format_kind.blocked.value || md.get_inner_nblks() != 0) {
            return null;
        }
        try (PointerScope scope = new PointerScope()) {
            int nd = md.get_ndims();
            LongPointer dims = md.get_dims();
            LongPointer strides = md.get_strides();
            if (strides.get(0) != in || md.get_size() != 4 * dims.get(0) * in) {
                return null;
            }
            long[] order = new long[nd - 1];
            for (int i = 1; i < nd; i++) {
                order[i - 1] = strides.get(i);
            }
            return order;
        }
    }

    private convolution_backward_data.primitive_desc convBwdData(Layer l, memory.desc diffSrc, memory.desc w, memory.desc diffDst,
                                                                 convolution_forward.primitive_desc hint) {
        return new convolution_backward_data.primitive_desc(eng, algorithm.convolution_direct, diffSrc, w, diffDst, ONE, ZERO,
                ZERO, ZERO, hint, attr(), false);
    }

    private convolution_backward_weights.primitive_desc convBwdWeights(Layer l, memory.desc src, memory.desc diffW,
                                                                       memory.desc diffDst, convolution_forward.primitive_desc hint) {
        return new convolution_backward_weights.primitive_desc(eng, algorithm.convolution_direct, src, diffW, l.bias.md(), diffDst,
                ONE, ZERO, ZERO, ZERO, hint, attr(), false);
    }

    private static boolean relu(Spec s) {
        return s instanceof Fc f ? f.relu() : s instanceof Conv c && c.relu();
    }

    private primitive_attr attr() {
        return own(new primitive_attr());
    }

    private primitive_attr reluAttr() {
        primitive_attr a = attr();
        post_ops po = own(new post_ops());
        po.append_eltwise(algorithm.eltwise_relu, 0f, 0f);
        a.set_post_ops(po);
        return a;
    }

    /** The first candidate oneDNN creates with a fast (not {@code ref}) implementation; the last creatable one otherwise. */
    @SafeVarargs
    private <T extends primitive_desc_base> T firstFast(String what, Supplier<T>... candidates) {
        T chosen = null;
        RuntimeException failure = null;
        for (Supplier<T> c : candidates) {
            try {
                chosen = c.get();
            } catch (RuntimeException e) {
                failure = e; // unimplemented for these layouts
                continue;
            }
            if (!chosen.impl_info_str().getString().startsWith("ref")) {
                break;
            }
        }
        if (chosen == null) {
            throw new IllegalStateException(what + ": oneDNN cannot create it", failure);
        }
        return own(chosen);
    }

    /** Appends an op; {@code kv} alternates argument keys and {@link Buf}s (null ones skipped). */
    private void add(Phase phase, String label, primitive_desc_base pd, primitive p, Object... kv) {
        List<Integer> keys = new ArrayList<>();
        List<Buf> bufs = new ArrayList<>();
        StringBuilder layouts = new StringBuilder();
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i + 1] != null) {
                Buf b = (Buf) kv[i + 1];
                keys.add((Integer) kv[i]);
                bufs.add(b);
                layouts.append(layouts.length() == 0 ? "" : ", ").append(argName((Integer) kv[i])).append(' ').append(describe(b.md));
            }
        }
        String impl = pd.impl_info_str().getString();
        ops.add(new Op(phase, own(p), keys.stream().mapToInt(Integer::intValue).toArray(), bufs.toArray(new Buf[0]), impl,
                phase.tag() + label + ": " + impl + " [" + layouts + "]"));
    }

    /** {@code src} in layout {@code want}: itself when the layouts agree, else a new tensor filled by a reorder op. */
    private Buf convert(String label, Buf src, memory.desc want, Phase phase) {
        if (src.md.equals(want)) {
            return src;
        }
        Buf dst = alloc(want);
        convertInto(label, src, dst, phase, false);
        return dst;
    }

    private void convertInto(String label, Buf src, Buf dst, Phase phase, boolean accumulate) {
        primitive_attr a = attr();
        if (accumulate) {
            post_ops po = own(new post_ops());
            po.append_sum(1f, 0, memory.data_type.undef);
            a.set_post_ops(po);
        }
        reorder.primitive_desc pd = own(new reorder.primitive_desc(eng, src.md, eng, dst.md, a, false));
        add(phase, "reorder " + label, pd, new reorder(pd), DNNL_ARG_FROM, src, DNNL_ARG_TO, dst);
    }

    /** A new tensor of layout {@code md} (oneDNN allocates it, 64-byte aligned). */
    private Buf alloc(memory.desc md) {
        return new Buf(md, own(new memory(md, eng)));
    }

    /** {@code b}'s memory seen through another descriptor of the same bytes. */
    private Buf reinterpret(Buf b, memory.desc md) {
        memory[] m = new memory[b.m.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = own(new memory(md, eng, at(b.m[i].get_data_handle().address())));
        }
        return new Buf(md, m);
    }

    /** {@code values} written once into one plain buffer, seen as consecutive tensors of layout {@code md}, one per micro-batch. */
    private Buf perMicro(memory.desc md, float[] values) {
        memory all = own(new memory(plain(values.length), eng));
        new FloatPointer(all.get_data_handle()).put(values);
        long base = all.get_data_handle().address();
        memory[] views = new memory[k];
        for (int i = 0; i < k; i++) {
            views[i] = own(new memory(md, eng, at(base + md.get_size() * i)));
        }
        return new Buf(md, views);
    }

    /** Slot {@code s} of the flat buffer {@code flat} (weights or gradients). */
    private Buf view(Slot s, memory flat) {
        return new Buf(s.md(), own(new memory(s.md(), eng, at(flat.get_data_handle().address() + 4 * s.offset()))));
    }

    private static long align(long floats) {
        return (floats + 15) / 16 * 16; // 64 bytes
    }

    private memory.desc plain(long... dims) {
        return own(new memory.desc(dims, memory.data_type.f32, plainTag(dims.length)));
    }

    private static memory.format_tag plainTag(int rank) {
        return switch (rank) {
            case 1 -> memory.format_tag.a;
            case 2 -> memory.format_tag.ab;
            case 4 -> memory.format_tag.abcd;
            default -> throw new IllegalArgumentException("rank " + rank);
        };
    }

    private memory.desc nhwc(long... dims) {
        return own(new memory.desc(dims, memory.data_type.f32, memory.format_tag.nhwc));
    }

    private memory.desc any(long... dims) {
        return own(new memory.desc(dims, memory.data_type.f32, memory.format_tag.any));
    }

    /** A pointer to {@code where} without a deallocator (memories over parts of buffers they do not own). */
    private static Pointer at(long where) {
        return new Pointer() {
            {
                address = where; // (a parameter named 'address' would be shadowed by this inherited field)
            }
        };
    }

    /** Keeps {@code p} until {@link #close()} (one reference, so the constructor's PointerScope does not free it). */
    private <P extends Pointer> P own(P p) {
        p.retainReference();
        owned.add(p);
        return p;
    }

    // ------------------------------------------------------------------ the step

    /**
     * Copies the batch from its Java array into the input memory (one bulk copy, the least a loop over a data set held
     * in Java does per step), then {@link #step}: {@code DirectStepBenchmark.stagedStep}.
     */
    void stagedStep() {
        batchMemory.put(batch);
        step();
    }

    /** One optimizer step: k x (forward, loss gradient, backward), then the SGD update. */
    void step() {
        if (closed) {
            throw new IllegalStateException("the direct loop is closed");
        }
        for (int j : first) {
            exec(j, 0);
        }
        for (int i = 1; i < k; i++) {
            for (int j : rest) {
                exec(j, i);
            }
        }
        for (int j : after) {
            exec(j, 0);
        }
        int status = dnnl_stream_wait(cStream);
        if (status != dnnl_success) {
            throw new IllegalStateException("dnnl_stream_wait failed: status " + status);
        }
    }

    private void exec(int op, int micro) {
        int status = dnnl_primitive_execute(cPrims[op], cStream, cArgCount[op], cArgs[op][micro]);
        if (status != dnnl_success) {
            throw new IllegalStateException(ops.get(op).description() + ": dnnl_primitive_execute failed with status " + status);
        }
    }

    // ------------------------------------------------------------------ inspection: setup and tests, not the hot path

    /** Per op of the step, in execution order: "label: impl_info_str [argument layouts]". */
    List<String> implementations() {
        return ops.stream().map(Op::description).toList();
    }

    /** The descriptions of the ops oneDNN runs with a reference ({@code ref}, slow) implementation: none expected. */
    List<String> referenceImplementations() {
        return ops.stream().filter(o -> o.impl().startsWith("ref")).map(Op::description).toList();
    }

    /**
     * Microseconds per execution of each op alone (micro-batch 0's arguments, {@code reps} runs), in execution
     * order, as "us  description": where a step's time goes. Changes the weights (the update runs too).
     */
    List<String> profile(int reps) {
        List<String> out = new ArrayList<>();
        for (int j = 0; j < ops.size(); j++) {
            exec(j, 0);
            dnnl_stream_wait(cStream);
            long t0 = System.nanoTime();
            for (int r = 0; r < reps; r++) {
                exec(j, 0);
            }
            dnnl_stream_wait(cStream);
            out.add(String.format("%9.1f us  %s", (System.nanoTime() - t0) / 1e3 / reps, ops.get(j).description()));
        }
        return out;
    }

    /** The parameters as (node, param) pairs, in flat-buffer order; names as in {@code Models}. */
    List<String[]> parameterNames() {
        return slots.stream().map(s -> new String[] {s.node(), s.param()}).toList();
    }

    /** Writes parameter {@code (node, param)} from plain values ({@code (out, in...)} row-major, as Batchwise stores it). */
    void setParameter(String node, String param, float[] values) {
        copy(slot(node, param), weights, values, true);
    }

    /** Parameter {@code (node, param)}, plain. */
    float[] parameter(String node, String param) {
        Slot s = slot(node, param);
        float[] v = new float[(int) product(s.dims())];
        copy(s, weights, v, false);
        return v;
    }

    /** The gradient of the last step for {@code (node, param)}, plain (mean over the effective batch). */
    float[] gradient(String node, String param) {
        Slot s = slot(node, param);
        float[] v = new float[(int) product(s.dims())];
        copy(s, gradients, v, false);
        return v;
    }

    /**
     * Mean cross-entropy of the last micro-batch of the last step, from its loss gradient
     * {@code d = (p - onehot) / (k m)}: the label's probability is {@code p_y = 1 + k m d_y}.
     */
    double lastLoss() {
        float[] d = new float[micro * CLASSES];
        new FloatPointer(gradient.m[0].get_data_handle()).get(d);
        double sum = 0;
        int from = (k - 1) * micro;
        for (int s = 0; s < micro; s++) {
            sum -= Math.log(1 + (double) k * micro * d[s * CLASSES + labels[from + s]]);
        }
        return sum / micro;
    }

    private Slot slot(String node, String param) {
        for (Slot s : slots) {
            if (s.node().equals(node) && s.param().equals(param)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no parameter " + node + "." + param + " in " + model);
    }

    /** Copies between plain {@code values} and slot {@code s} of {@code flat} (any layout) with a oneDNN reorder. */
    @SuppressWarnings("try")
    private void copy(Slot s, memory flat, float[] values, boolean toNative) {
        if (values.length != product(s.dims())) {
            throw new IllegalArgumentException(s.node() + "." + s.param() + " holds " + product(s.dims()) + " values, got "
                    + values.length);
        }
        try (PointerScope scope = new PointerScope()) {
            memory.desc plainMd = new memory.desc(s.dims(), memory.data_type.f32, plainTag(s.dims().length));
            FloatPointer host = new FloatPointer(values.length);
            memory user = new memory(plainMd, eng, host);
            memory mine = new memory(s.md(), eng, at(flat.get_data_handle().address() + 4 * s.offset()));
            if (toNative) {
                host.put(values);
                new reorder(user, mine).execute(strm, user, mine);
            } else {
                new reorder(mine, user).execute(strm, mine, user);
            }
            strm._wait();
            if (!toNative) {
                host.get(values);
            }
        }
    }

    private static long product(long[] d) {
        long p = 1;
        for (long x : d) {
            p *= x;
        }
        return p;
    }

    private static String argName(int key) {
        if (key == DNNL_ARG_SRC) {
            return "src";
        } else if (key == DNNL_ARG_DST) {
            return "dst";
        } else if (key == DNNL_ARG_WEIGHTS) {
            return "wei";
        } else if (key == DNNL_ARG_BIAS) {
            return "bia";
        } else if (key == DNNL_ARG_DIFF_DST) {
            return "diff_dst";
        } else if (key == DNNL_ARG_DIFF_SRC) {
            return "diff_src";
        } else if (key == DNNL_ARG_DIFF_WEIGHTS) {
            return "diff_wei";
        } else if (key == DNNL_ARG_DIFF_BIAS) {
            return "diff_bia";
        } else if (key == DNNL_ARG_WORKSPACE) {
            return "ws";
        } else if (key == (DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE | DNNL_ARG_SRC_1)) {
            return "onehot";
        } else if (key == DNNL_ARG_SRC_0) {
            return "src0";
        } else if (key == DNNL_ARG_SRC_1) {
            return "src1";
        } else if (key == (DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC_1)) {
            return "scale1";
        }
        return "arg" + key;
    }

    /** A layout: dims, strides, inner blocks, e.g. {@code 128x6x24x24 s[9216,9216,384,16] b[16@1]} (nChw16c). */
    @SuppressWarnings("try")
    static String describe(memory.desc md) {
        int nd = md.get_ndims();
        StringBuilder sb = new StringBuilder();
        try (PointerScope scope = new PointerScope()) {
            LongPointer dims = md.get_dims();
            for (int i = 0; i < nd; i++) {
                sb.append(i > 0 ? "x" : "").append(dims.get(i));
            }
            if (md.get_format_kind().value != memory.format_kind.blocked.value) {
                return sb.append(' ').append(md.get_format_kind()).toString();
            }
            LongPointer strides = md.get_strides();
            sb.append(" s[");
            for (int i = 0; i < nd; i++) {
                sb.append(i > 0 ? "," : "").append(strides.get(i));
            }
            sb.append(']');
            int nb = md.get_inner_nblks();
            if (nb > 0) {
                LongPointer blks = md.get_inner_blks();
                LongPointer idxs = md.get_inner_idxs();
                sb.append(" b[");
                for (int i = 0; i < nb; i++) {
                    sb.append(i > 0 ? "," : "").append(blks.get(i)).append('@').append(idxs.get(i));
                }
                sb.append(']');
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = owned.size() - 1; i >= 0; i--) {
            Pointer p = owned.get(i);
            p.releaseReference();
            if (!p.isNull() && p.referenceCount() <= 0) {
                p.deallocate();
            }
        }
        owned.clear();
    }
}
