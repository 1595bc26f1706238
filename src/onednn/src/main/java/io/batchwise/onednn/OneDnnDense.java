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
import io.batchwise.layer.Dense;
import io.batchwise.backend.GradientMode;
import io.batchwise.plan.MemoryPlan.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.bytedeco.dnnl.inner_product_backward_data;
import org.bytedeco.dnnl.inner_product_backward_weights;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;

/**
 * Inner product: {@code {b, ...in} . {units, ...in}^T + {units} -> {b, units}}. The source is read in
 * whatever layout its producer chose (an inner product reads a blocked {@code {b, C, H, W}} directly,
 * so no flatten copy); the weight {@code (units, in)} is the {@code {units, ...in}} tensor as stored (plain,
 * or channels-last after a channels-last convolution: {@link OneDnnParameterOrders}), reordered into the
 * layout oneDNN chose once per step only where that differs.
 *
 * <p>bf16 mixed precision: source, weight copy (reordered from the f32 master once per forward), destination and
 * their gradients bf16; bias, weight and bias gradients f32 (oneDNN writes f32 diff_weights from bf16 inputs;
 * the ACCUMULATE matmuls take bf16 operands and add into the f32 gradient).
 */
final class OneDnnDense extends OneDnnLayer {
    private final Dense spec;
    private long[] srcDims;
    private long[] wDims;
    private long[] dstDims;
    private inner_product_forward.primitive_desc fwd;
    private inner_product_backward_data.primitive_desc bwdData;
    private inner_product_backward_weights.primitive_desc bwdWeights;
    private OneDnnBuffer src;
    private OneDnnBuffer wView;
    private OneDnnBuffer weights;
    private OneDnnPlanner.Contribution toInput;

    OneDnnDense(Node node, Dense spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(OneDnnPlanner p) {
        OneDnnBuffer in = p.output(node.inputs().get(0));
        srcDims = OneDnnMd.dims(in.md);
        wDims = OneDnnMd.concatDims(spec.units(), srcDims, 1);
        dstDims = new long[] {p.batch, spec.units()};
        memory.desc wAny = p.any(wDims);
        memory.desc wPlain = p.plain(wDims);
        memory.desc bias = spec.bias() ? p.plainF32(spec.units()) : null;
        memory.desc dstAny = p.any(dstDims);
        memory.desc srcAny = p.any(srcDims);
        primitive_attr attr = p.forwardAttr(node);
        // Weights stored in a kernel's layout (OneDnnParameterOrders, channels-last after a convolution): that first.
        // Otherwise, a plain source: plain weights first (plain storage, so no weight reorder per step); a blocked or
        // channels-last source: the source as it is, with the weights in oneDNN's matching layout (a brgemm kernel;
        // reordering the small weights is cheaper than the activation).
        List<Supplier<inner_product_forward.primitive_desc>> candidates = new ArrayList<>();
        if (p.storedNonPlain(node, "weight") && !p.bf16) { // stored f32; a bf16 kernel reads a bf16 copy
            memory.desc wStored = p.storedLayout(node, "weight", wDims);
            candidates.add(() -> create(p, in.md, wStored, bias, dstAny, attr));
        }
        if (OneDnnMd.isPlain(in.md)) {
            candidates.add(() -> create(p, in.md, wPlain, bias, dstAny, attr));
            candidates.add(() -> create(p, srcAny, wPlain, bias, dstAny, attr));
            candidates.add(() -> create(p, in.md, wAny, bias, dstAny, attr));
        } else {
            candidates.add(() -> create(p, in.md, wAny, bias, dstAny, attr));
            candidates.add(() -> create(p, in.md, wPlain, bias, dstAny, attr));
            candidates.add(() -> create(p, srcAny, wPlain, bias, dstAny, attr));
        }
        candidates.add(() -> create(p, srcAny, wAny, bias, dstAny, attr));
        fwd = p.firstFast(label("forward"), candidates);
        p.kernelWeights(node, "weight", fwd.weights_desc(), true);
        src = p.convert(label("src"), in, fwd.src_desc(), () -> p.workspace(node, "src", fwd.src_desc()), p::forward);
        wView = p.parameter(node, "weight", OneDnnBuffer.Store.VALUES, wDims);
        weights = p.convert(label("weights"), wView, fwd.weights_desc(), () -> p.workspace(node, "weights", fwd.weights_desc()),
                p::forward);
        OneDnnBuffer b = spec.bias() ? p.parameter(node, "bias", OneDnnBuffer.Store.VALUES, spec.units()) : null;
        OneDnnBuffer dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
        p.forward(p.prim(label("forward"), fwd, p.lazy(fwd, inner_product_forward::new),
                DNNL_ARG_SRC, src, DNNL_ARG_WEIGHTS, weights, DNNL_ARG_BIAS, b, DNNL_ARG_DST, dst));
        p.setOutput(node, dst);
    }

    private inner_product_forward.primitive_desc create(OneDnnPlanner p, memory.desc srcMd, memory.desc wMd, memory.desc bias,
                                                        memory.desc dstMd, primitive_attr attr) {
        return bias != null
                ? new inner_product_forward.primitive_desc(p.eng, forwardKind(p), srcMd, wMd, bias, dstMd, attr, false)
                : new inner_product_forward.primitive_desc(p.eng, forwardKind(p), srcMd, wMd, dstMd, attr, false);
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        String input = node.inputs().get(0);
        memory.desc wPlain = p.plain(wDims);
        memory.desc gPlain = p.plainF32(wDims); // the weight gradient: f32 whatever the precision
        // After a convolution the forward runs on its source's layout with matching (non-plain) weights: the backward
        // passes try those layouts first.
        boolean matched = !OneDnnMd.isPlain(src.md) && !OneDnnMd.isPlain(fwd.weights_desc());
        memory.desc wFwd = fwd.weights_desc();
        if (p.requiresGrad(input)) {
            List<Supplier<inner_product_backward_data.primitive_desc>> dataCandidates = new ArrayList<>();
            if (matched) {
                dataCandidates.add(() -> dataPd(p, src.md, wFwd));
            }
            dataCandidates.add(() -> dataPd(p, p.any(srcDims), wPlain));
            dataCandidates.add(() -> dataPd(p, p.any(srcDims), p.any(wDims)));
            bwdData = p.firstFast(label("backward data"), dataCandidates);
            toInput = p.contribution(node, input, "diff_src", bwdData.diff_src_desc(), false);
        }
        memory.desc srcMd = src.md;
        List<Supplier<inner_product_backward_weights.primitive_desc>> weightCandidates = new ArrayList<>();
        if (matched) {
            memory.desc gFwd = p.retype(wFwd, memory.data_type.f32);
            weightCandidates.add(() -> weightsPd(p, srcMd, gFwd));
        }
        weightCandidates.add(() -> weightsPd(p, srcMd, gPlain));
        weightCandidates.add(() -> weightsPd(p, p.any(srcDims), gPlain));
        weightCandidates.add(() -> weightsPd(p, srcMd, p.anyF32(wDims)));
        weightCandidates.add(() -> weightsPd(p, p.any(srcDims), p.anyF32(wDims)));
        bwdWeights = p.firstFast(label("backward weights"), weightCandidates);
        return p.preferredGradient(node, bwdWeights.diff_dst_desc(), bwdData != null ? bwdData.diff_dst_desc() : null);
    }

    /**
     * ACCUMULATE without a gradient-sized temporary: {@code dW += diff_dst^T . src} as a matmul with a
     * sum post-op into the plain gradient slot ({units, b} x {b, in} -> {units, in}); likewise the bias
     * gradient as {@code ones{1, b} . diff_dst}.
     */
    private void accumulate(OneDnnPlanner p, int step, OneDnnBuffer diff) {
        Consumer<OneDnnOp> emit = op -> p.backward(op, GradientMode.ACCUMULATE);
        long b = p.batch;
        long units = spec.units();
        long in = OneDnnMd.product(wDims) / units;
        // The source in the weights' stored order (plain, or e.g. channels-last acdb for acdb weights): both are then
        // row-major matrices {b, in} and {units, in} over the same ordering of the input features.
        memory.desc srcOrder = p.storedNonPlain(node, "weight")
                ? p.own(new OneDnnParameterOrders.Stored(p.stored.get(OneDnnParameterOrders.key(node, "weight")).tag(),
                        srcDims).md(p.act))
                : p.plain(srcDims);
        OneDnnBuffer srcP = p.convert(label("src, in the weights' order"), src, srcOrder,
                () -> p.temporary(node, "src_plain", Kind.WORKSPACE, srcOrder, step), emit);
        OneDnnBuffer ddP = p.convert(label("diff_dst, plain"), diff, p.plain(b, units),
                () -> p.temporary(node, "diff_dst_plain", Kind.ACTIVATION_GRADIENT, p.plain(b, units), step), emit);
        OneDnnBuffer ddT = p.alias(node.name() + ".diff_dst_t", ddP, p.own(new memory.desc(new long[] {units, b},
                p.act, new long[] {1, units})));
        OneDnnBuffer src2 = p.alias(node.name() + ".src_2d", srcP, p.plain(b, in));
        OneDnnBuffer dW = p.alias(node.name() + ".weight.grad_2d", p.parameter(node, "weight", OneDnnBuffer.Store.GRADIENTS, wDims),
                p.plainF32(units, in));
        matmul.primitive_desc mm = p.own(new matmul.primitive_desc(p.eng, ddT.md, src2.md, dW.md, sumAttr(), false));
        emit.accept(p.prim(label("weight gradient += diff_dst^T . src"), mm, p.lazy(mm, matmul::new),
                DNNL_ARG_SRC, ddT, DNNL_ARG_WEIGHTS, src2, DNNL_ARG_DST, dW));
        if (spec.bias()) {
            // dB += ones{1, b} . diff_dst{b, units}
            OneDnnBuffer ones = p.temporary(node, "ones", Kind.WORKSPACE, p.plain(1, b), step);
            emit.accept(new OneDnnOp.Host(label("ones"), (ex, pass) -> {
                OneDnnTensor o = ex.tensor(ones);
                for (int i = 0; i < b; i++) {
                    o.putAt(i, 1f);
                }
            }, ones));
            OneDnnBuffer dB = p.alias(node.name() + ".bias.grad_2d", p.parameter(node, "bias", OneDnnBuffer.Store.GRADIENTS, units),
                    p.plainF32(1, units));
            matmul.primitive_desc mb = p.own(new matmul.primitive_desc(p.eng, ones.md, ddP.md, dB.md, sumAttr(), false));
            emit.accept(p.prim(label("bias gradient += ones . diff_dst"), mb, p.lazy(mb, matmul::new),
                    DNNL_ARG_SRC, ones, DNNL_ARG_WEIGHTS, ddP, DNNL_ARG_DST, dB));
        }
    }

    private static primitive_attr sumAttr() {
        primitive_attr a = OneDnnPlanner.attr();
        post_ops po = new post_ops();
        po.append_sum(1f, 0, memory.data_type.undef);
        a.set_post_ops(po);
        return a;
    }

    private inner_product_backward_data.primitive_desc dataPd(OneDnnPlanner p, memory.desc srcMd, memory.desc wMd) {
        return new inner_product_backward_data.primitive_desc(p.eng, srcMd, wMd, p.any(dstDims), fwd, p.sharedAttr, false);
    }

    private inner_product_backward_weights.primitive_desc weightsPd(OneDnnPlanner p, memory.desc srcMd, memory.desc dwMd) {
        return spec.bias()
                ? new inner_product_backward_weights.primitive_desc(p.eng, srcMd, dwMd, p.plainF32(spec.units()), p.any(dstDims), fwd,
                        p.sharedAttr, false)
                : new inner_product_backward_weights.primitive_desc(p.eng, srcMd, dwMd, p.any(dstDims), fwd, p.sharedAttr,
                        false);
    }

    @Override
    void backward(OneDnnPlanner p) {
        int step = p.backwardStep(node);
        OneDnnBuffer diff = p.diff(node.name());
        // Weights: {b, ...in} x {b, units} -> {units, ...in} (+ {units})
        OneDnnBuffer srcW = p.convert(label("src for weights"), src, bwdWeights.src_desc(),
                () -> p.temporary(node, "src_bwd", Kind.WORKSPACE, bwdWeights.src_desc(), step), p::backward);
        OneDnnBuffer ddW = p.convert(label("diff_dst for weights"), diff, bwdWeights.diff_dst_desc(),
                () -> p.temporary(node, "diff_dst_w", Kind.ACTIVATION_GRADIENT, bwdWeights.diff_dst_desc(), step), p::backward);
        memory.desc scratch = p.record(label("backward weights"), bwdWeights);
        OneDnnPlanner.GradOut gw = p.gradOut(node, "weight", DNNL_ARG_DIFF_WEIGHTS, bwdWeights.diff_weights_desc(), false, wDims);
        OneDnnPlanner.GradOut gb = spec.bias()
                ? p.gradOut(node, "bias", DNNL_ARG_DIFF_BIAS, bwdWeights.diff_bias_desc(), false, spec.units()) : null;
        p.backwardWithGradients(GradientMode.OVERWRITE, label("backward weights"), scratch,
                p.lazy(bwdWeights, inner_product_backward_weights::new), new Object[] {DNNL_ARG_SRC, srcW, DNNL_ARG_DIFF_DST, ddW},
                gw, gb);
        accumulate(p, step, diff);
        if (bwdData != null) {
            // Data: {b, units} x {units, ...in} -> {b, ...in}
            OneDnnBuffer ddD = p.convert(label("diff_dst for data"), diff, bwdData.diff_dst_desc(),
                    () -> p.temporary(node, "diff_dst_d", Kind.ACTIVATION_GRADIENT, bwdData.diff_dst_desc(), step), p::backward);
            OneDnnBuffer wD = bwdData.weights_desc().equals(weights.md) ? weights
                    : p.convert(label("weights for data"), wView, bwdData.weights_desc(),
                            () -> p.temporary(node, "weights_bwd", Kind.WORKSPACE, bwdData.weights_desc(), step), p::backward);
            OneDnnBuffer target = p.target(toInput);
            p.backward(p.prim(label("backward data"), bwdData, p.lazy(bwdData, inner_product_backward_data::new),
                    DNNL_ARG_DIFF_DST, ddD, DNNL_ARG_WEIGHTS, wD, DNNL_ARG_DIFF_SRC, target));
            p.fold(toInput);
        }
    }
}
