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
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.inner_product_backward_data;
import org.bytedeco.dnnl.inner_product_backward_weights;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;

/**
 * Inner product: {@code {b, ...in} . {units, ...in}^T + {units} -> {b, units}}. The source is read in
 * whatever layout its producer chose (an inner product reads a blocked {@code {b, C, H, W}} directly,
 * so no flatten copy); the weight {@code (units, in)} is the plain {@code {units, ...in}} tensor, reordered
 * into the layout oneDNN chose once per step where that differs.
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
        memory.desc bias = spec.bias() ? p.plain(spec.units()) : null;
        memory.desc dstAny = p.any(dstDims);
        fwd = create(p, in.md, wAny, bias, dstAny);
        if (fwd.impl_info_str().getString().startsWith("ref")) {
            // The producer's layout has no fast kernel: let oneDNN choose the source layout as well.
            inner_product_forward.primitive_desc again = create(p, p.any(srcDims), wAny, bias, dstAny);
            if (!again.impl_info_str().getString().startsWith("ref")) {
                fwd = again;
            }
        }
        src = p.convert(label("src"), in, fwd.src_desc(), () -> p.workspace(node, "src", fwd.src_desc()), p::forward);
        wView = p.parameter(node, "weight", OneDnnBuffer.Store.VALUES, wDims);
        weights = p.convert(label("weights"), wView, fwd.weights_desc(), () -> p.workspace(node, "weights", fwd.weights_desc()),
                p::forward);
        OneDnnBuffer b = spec.bias() ? p.parameter(node, "bias", OneDnnBuffer.Store.VALUES, spec.units()) : null;
        OneDnnBuffer dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
        p.forward(p.prim(label("forward"), fwd, p.own(new inner_product_forward(fwd)),
                DNNL_ARG_SRC, src, DNNL_ARG_WEIGHTS, weights, DNNL_ARG_BIAS, b, DNNL_ARG_DST, dst));
        p.setOutput(node, dst);
    }

    private inner_product_forward.primitive_desc create(OneDnnPlanner p, memory.desc srcMd, memory.desc wMd, memory.desc bias,
                                                        memory.desc dstMd) {
        try {
            return p.own(bias != null
                    ? new inner_product_forward.primitive_desc(p.eng, forwardKind(p), srcMd, wMd, bias, dstMd,
                            OneDnnPlanner.attr(), false)
                    : new inner_product_forward.primitive_desc(p.eng, forwardKind(p), srcMd, wMd, dstMd, OneDnnPlanner.attr(),
                            false));
        } catch (RuntimeException e) {
            throw failure("an inner product", e, srcMd, wMd, dstMd);
        }
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        String input = node.inputs().get(0);
        if (p.requiresGrad(input)) {
            bwdData = p.own(new inner_product_backward_data.primitive_desc(p.eng, p.any(srcDims), p.any(wDims),
                    p.any(dstDims), fwd, OneDnnPlanner.attr(), false));
            toInput = p.contribution(node, input, "diff_src", bwdData.diff_src_desc(), false);
        }
        bwdWeights = p.own(spec.bias()
                ? new inner_product_backward_weights.primitive_desc(p.eng, p.any(srcDims), p.any(wDims), p.plain(spec.units()),
                        p.any(dstDims), fwd, OneDnnPlanner.attr(), false)
                : new inner_product_backward_weights.primitive_desc(p.eng, p.any(srcDims), p.any(wDims), p.any(dstDims), fwd,
                        OneDnnPlanner.attr(), false));
        return bwdWeights.diff_dst_desc();
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
        OneDnnPlanner.GradOut gw = p.gradOut(node, "weight", DNNL_ARG_DIFF_WEIGHTS, bwdWeights.diff_weights_desc(), wDims);
        OneDnnPlanner.GradOut gb = spec.bias()
                ? p.gradOut(node, "bias", DNNL_ARG_DIFF_BIAS, bwdWeights.diff_bias_desc(), spec.units()) : null;
        p.backwardWithGradients(label("backward weights"), scratch, p.own(new inner_product_backward_weights(bwdWeights)),
                new Object[] {DNNL_ARG_SRC, srcW, DNNL_ARG_DIFF_DST, ddW}, gw, gb);
        if (bwdData != null) {
            // Data: {b, units} x {units, ...in} -> {b, ...in}
            OneDnnBuffer ddD = p.convert(label("diff_dst for data"), diff, bwdData.diff_dst_desc(),
                    () -> p.temporary(node, "diff_dst_d", Kind.ACTIVATION_GRADIENT, bwdData.diff_dst_desc(), step), p::backward);
            OneDnnBuffer wD = bwdData.weights_desc().equals(weights.md) ? weights
                    : p.convert(label("weights for data"), wView, bwdData.weights_desc(),
                            () -> p.temporary(node, "weights_bwd", Kind.WORKSPACE, bwdData.weights_desc(), step), p::backward);
            OneDnnBuffer target = p.target(toInput);
            p.backward(p.prim(label("backward data"), bwdData, p.own(new inner_product_backward_data(bwdData)),
                    DNNL_ARG_DIFF_DST, ddD, DNNL_ARG_WEIGHTS, wD, DNNL_ARG_DIFF_SRC, target));
            p.fold(toInput);
        }
    }
}
