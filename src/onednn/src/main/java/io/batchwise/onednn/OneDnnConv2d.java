package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;

import io.batchwise.Node;
import io.batchwise.layer.Conv2d;
import io.batchwise.plan.MemoryPlan.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.global.dnnl.algorithm;

/**
 * Convolution: {@code {b, C, H, W} (x) {OC, C, KH, KW} -> {b, OC, OH, OW}}. Every tensor's layout is
 * left to oneDNN ({@code any}); the input is reordered into the chosen source layout, the stored
 * weights (plain, or the kernel's layout: {@link OneDnnParameterOrders}) into the chosen weight
 * layout, once per step, only where they differ. oneDNN counts dilation from 0 (ours from 1).
 *
 * <p>bf16 mixed precision: source, weights copy, destination and their gradients bf16 (the f32 master weights are
 * reordered into the bf16 copy once per forward), bias and weight gradients f32. A one-input-channel convolution
 * computes its weight gradient in f32 from the caller's f32 input: its bf16 backward-weights has no brgemm kernel
 * (oneDNN falls to {@code gemm:jit}, measured 14x slower than f32 here). In the planner's f32 region
 * ({@link OneDnnPlanner#f32Region}) its forward still computes in bf16 but writes f32, and its gradient arrives in f32;
 * elsewhere (a one-channel stem before a BatchNorm) the bf16 gradient is converted to f32 for the weight gradient.
 */
final class OneDnnConv2d extends OneDnnLayer {
    private final Conv2d spec;
    private long[] srcDims;
    private long[] wDims;
    private long[] dstDims;
    private long[] strides;
    private long[] dilates;
    private long[] padL;
    private long[] padR;
    private convolution_forward.primitive_desc fwd;
    private convolution_backward_data.primitive_desc bwdData;
    private convolution_backward_weights.primitive_desc bwdWeights;
    private OneDnnBuffer src;
    private OneDnnBuffer wView;
    private OneDnnBuffer weights;
    private OneDnnPlanner.Contribution toInput;
    /** bf16 plan, one input channel: the weight gradient in f32 (see the class comment). */
    private boolean f32Weights;
    /** The producer's buffer (for the f32 weight gradient: the caller's f32 input when the producer is an input). */
    private OneDnnBuffer srcF32;

    OneDnnConv2d(Node node, Conv2d spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(OneDnnPlanner p) {
        OneDnnBuffer in = p.output(node.inputs().get(0));
        srcDims = OneDnnMd.dims(in.md);
        wDims = new long[] {spec.outChannels(), srcDims[1], spec.kernelH(), spec.kernelW()};
        dstDims = OneDnnMd.dims(node.outputShape().withBatch(p.batch));
        strides = new long[] {spec.strideH(), spec.strideW()};
        dilates = new long[] {spec.dilationH() - 1, spec.dilationW() - 1};
        padL = new long[] {spec.padH(), spec.padW()};
        // Symmetric padding: oneDNN's output size (floor division) then matches ours.
        padR = padL.clone();
        // Source and weights in the compute type (bf16 in a bf16 plan, also in its f32 region), the output in p.act.
        memory.data_type ct = p.bf16 ? memory.data_type.bf16 : memory.data_type.f32;
        memory.desc srcAny = p.any(ct, srcDims);
        memory.desc wAny = p.any(ct, wDims);
        memory.desc bias = spec.bias() ? p.plainF32(spec.outChannels()) : null;
        memory.desc dstAny = p.any(dstDims);
        primitive_attr attr = p.forwardAttr(node);
        // Layouts: the producer's first (no reorder of the input), then channels-last, then oneDNN's free choice;
        // the first with a fast (non-ref) kernel. A 6-channel blocked nChw16c source has none (LeNet-5's conv2), and
        // channels-last then keeps conv2, pool2 and fc1 in nhwc with jit/brgemm kernels. A one-channel plain input stays
        // plain: channels-last there measured 30% slower on this AVX-512 machine (benchmarks/RESULTS.md).
        memory.desc nhwc = p.own(new memory.desc(srcDims, ct, memory.format_tag.nhwc));
        // A plain source of several channels (an image input): channels-last first, one reorder of the input per step
        // buys fast channels-last kernels for the forward and the weight gradient.
        boolean manyPlain = OneDnnMd.isPlain(in.md) && srcDims[1] > 1;
        // (a producer of the other type in a blocked layout that cannot be retyped: channels-last, as for a 6-channel one)
        memory.desc inCt = OneDnnMd.retype(in.md, ct) != null ? p.retype(in.md, ct) : nhwc;
        memory.desc first = manyPlain ? nhwc : inCt;
        memory.desc second = manyPlain ? inCt : nhwc;
        // Weights stored in a kernel's layout (OneDnnParameterOrders): that layout first, so no reorder per step.
        List<Supplier<convolution_forward.primitive_desc>> candidates = new ArrayList<>();
        if (p.storedNonPlain(node, "weight") && !p.bf16) { // stored f32; a bf16 kernel reads a bf16 copy
            memory.desc wStored = p.storedLayout(node, "weight", wDims);
            candidates.add(() -> forwardPd(p, first, wStored, bias, dstAny, attr));
        }
        candidates.add(() -> forwardPd(p, first, wAny, bias, dstAny, attr));
        candidates.add(() -> forwardPd(p, second, wAny, bias, dstAny, attr));
        candidates.add(() -> forwardPd(p, srcAny, wAny, bias, dstAny, attr));
        try {
            fwd = p.firstFast(label("forward"), candidates);
        } catch (RuntimeException e) {
            throw failure("a convolution", e, srcAny, wAny, dstAny);
        }
        p.kernelWeights(node, "weight", fwd.weights_desc(), false);
        // {b, C, H, W} in the producer's layout -> the layout the convolution chose.
        src = p.convert(label("src"), in, fwd.src_desc(), () -> p.workspace(node, "src", fwd.src_desc()), p::forward);
        f32Weights = p.bf16 && srcDims[1] == 1;
        srcF32 = p.inputBuffers.getOrDefault(node.inputs().get(0), in);
        wView = p.parameter(node, "weight", OneDnnBuffer.Store.VALUES, wDims);
        weights = p.convert(label("weights"), wView, fwd.weights_desc(), () -> p.workspace(node, "weights", fwd.weights_desc()),
                p::forward);
        OneDnnBuffer b = spec.bias() ? p.parameter(node, "bias", OneDnnBuffer.Store.VALUES, spec.outChannels()) : null;
        OneDnnBuffer dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
        p.forward(p.prim(label("forward"), fwd, p.lazy(fwd, convolution_forward::new),
                DNNL_ARG_SRC, src, DNNL_ARG_WEIGHTS, weights, DNNL_ARG_BIAS, b, DNNL_ARG_DST, dst));
        p.setOutput(node, dst);
    }

    private convolution_forward.primitive_desc forwardPd(OneDnnPlanner p, memory.desc srcMd, memory.desc wMd, memory.desc bias,
                                                         memory.desc dstMd, primitive_attr attr) {
        return bias != null
                ? new convolution_forward.primitive_desc(p.eng, forwardKind(p), algorithm.convolution_direct, srcMd, wMd, bias,
                        dstMd, strides, dilates, padL, padR, attr, false)
                : new convolution_forward.primitive_desc(p.eng, forwardKind(p), algorithm.convolution_direct, srcMd, wMd, dstMd,
                        strides, dilates, padL, padR, attr, false);
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        String input = node.inputs().get(0);
        memory.desc biasF32 = spec.bias() ? p.plainF32(spec.outChannels()) : null;
        // In the f32 region every backward pass is f32, hinted by an f32 forward descriptor.
        boolean region = p.bf16 && p.act.value == memory.data_type.f32.value;
        convolution_forward.primitive_desc hint = !region && !f32Weights ? fwd : p.own(forwardPd(p, p.anyF32(srcDims),
                p.anyF32(wDims), biasF32, p.anyF32(dstDims), p.sharedAttr));
        if (p.requiresGrad(input)) {
            bwdData = p.own(new convolution_backward_data.primitive_desc(p.eng, algorithm.convolution_direct, p.any(srcDims),
                    p.any(wDims), p.any(dstDims), strides, dilates, padL, padR, region ? hint : fwd, p.sharedAttr, false));
            toInput = p.contribution(node, input, "diff_src", bwdData.diff_src_desc(), false);
        }
        // Layouts the forward already produced first (no reorder of the source or of the gradient per step), then
        // oneDNN's free choice: with every layout free it picks the weight-gradient kernel for its own layouts, and
        // the source then needs a second blocked copy each step.
        memory.desc srcMd = src.md;
        memory.desc dstMd = fwd.dst_desc();
        memory.desc biasMd = spec.bias() ? p.plainF32(spec.outChannels()) : null;
        if (f32Weights) {
            // {b, 1, H, W} f32 x {b, OC, OH, OW} f32 -> {OC, 1, KH, KW} f32, oneDNN's choice of layouts (channels-last
            // diff_dst would save the padding of a 16-blocked copy, but its kernel measured 4x slower on LeNet-5's conv1).
            bwdWeights = p.own(weightsPd(p, p.anyF32(srcDims), p.anyF32(dstDims), biasMd, hint));
            // In the region the gradient is f32 where the weight gradient wants it; outside it stays bf16 in the forward's
            // layout (what arrives from the consumers) and is reordered to f32 each step.
            return region ? p.preferredGradient(node, bwdWeights.diff_dst_desc(), bwdData != null ? bwdData.diff_dst_desc() : null)
                    : p.preferredGradient(node, dstMd, bwdData != null ? bwdData.diff_dst_desc() : null);
        }
        bwdWeights = OneDnnMd.isPlain(srcMd) // a plain source (the graph's input): oneDNN's own choice is faster
                ? p.own(weightsPd(p, p.any(srcDims), p.any(dstDims), biasMd, fwd))
                : p.firstFast(label("backward weights"), () -> weightsPd(p, srcMd, dstMd, biasMd, fwd),
                        () -> weightsPd(p, srcMd, p.any(dstDims), biasMd, fwd),
                        () -> weightsPd(p, p.any(srcDims), p.any(dstDims), biasMd, fwd));
        return p.preferredGradient(node, bwdWeights.diff_dst_desc(), bwdData != null ? bwdData.diff_dst_desc() : null);
    }

    /** Weight gradients are f32 in every precision (oneDNN writes f32 diff_weights from bf16 inputs). */
    private convolution_backward_weights.primitive_desc weightsPd(OneDnnPlanner p, memory.desc srcMd, memory.desc dstMd,
                                                                  memory.desc biasMd, convolution_forward.primitive_desc hint) {
        return biasMd != null
                ? new convolution_backward_weights.primitive_desc(p.eng, algorithm.convolution_direct, srcMd, p.anyF32(wDims),
                        biasMd, dstMd, strides, dilates, padL, padR, hint, p.sharedAttr, false)
                : new convolution_backward_weights.primitive_desc(p.eng, algorithm.convolution_direct, srcMd, p.anyF32(wDims),
                        dstMd, strides, dilates, padL, padR, hint, p.sharedAttr, false);
    }

    @Override
    void backward(OneDnnPlanner p) {
        int step = p.backwardStep(node);
        OneDnnBuffer diff = p.diff(node.name());
        // Weights: {b, C, H, W} x {b, OC, OH, OW} -> {OC, C, KH, KW} (+ {OC})
        OneDnnBuffer srcW = p.convert(label("src for weights"), f32Weights ? srcF32 : src, bwdWeights.src_desc(),
                () -> p.temporary(node, "src_bwd", Kind.WORKSPACE, bwdWeights.src_desc(), step), p::backward);
        OneDnnBuffer ddW = p.convert(label("diff_dst for weights"), diff, bwdWeights.diff_dst_desc(),
                () -> p.temporary(node, "diff_dst_w", Kind.ACTIVATION_GRADIENT, bwdWeights.diff_dst_desc(), step), p::backward);
        memory.desc scratch = p.record(label("backward weights"), bwdWeights);
        OneDnnPlanner.GradOut gw = p.gradOut(node, "weight", DNNL_ARG_DIFF_WEIGHTS, bwdWeights.diff_weights_desc(), wDims);
        OneDnnPlanner.GradOut gb = spec.bias()
                ? p.gradOut(node, "bias", DNNL_ARG_DIFF_BIAS, bwdWeights.diff_bias_desc(), spec.outChannels()) : null;
        p.backwardWithGradients(label("backward weights"), scratch, p.lazy(bwdWeights, convolution_backward_weights::new),
                new Object[] {DNNL_ARG_SRC, srcW, DNNL_ARG_DIFF_DST, ddW}, gw, gb);
        if (bwdData != null) {
            // Data: {b, OC, OH, OW} x {OC, C, KH, KW} -> {b, C, H, W}
            OneDnnBuffer ddD = p.convert(label("diff_dst for data"), diff, bwdData.diff_dst_desc(),
                    () -> p.temporary(node, "diff_dst_d", Kind.ACTIVATION_GRADIENT, bwdData.diff_dst_desc(), step), p::backward);
            OneDnnBuffer wD = bwdData.weights_desc().equals(weights.md) ? weights
                    : p.convert(label("weights for data"), wView, bwdData.weights_desc(),
                            () -> p.temporary(node, "weights_bwd", Kind.WORKSPACE, bwdData.weights_desc(), step), p::backward);
            OneDnnBuffer target = p.target(toInput);
            p.backward(p.prim(label("backward data"), bwdData, p.lazy(bwdData, convolution_backward_data::new),
                    DNNL_ARG_DIFF_DST, ddD, DNNL_ARG_WEIGHTS, wD, DNNL_ARG_DIFF_SRC, target));
            p.fold(toInput);
        }
    }
}
