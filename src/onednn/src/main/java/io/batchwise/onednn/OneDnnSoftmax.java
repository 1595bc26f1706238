package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.softmax_backward;
import org.bytedeco.dnnl.softmax_forward;
import org.bytedeco.dnnl.global.dnnl.algorithm;

/**
 * Softmax over axis 1 of {@code (b, C, ...)}; backward reads the forward output. Where the producer's
 * layout has no fast kernel in either direction (a strided channel axis, e.g. plain {@code nchw}),
 * both directions run channels-last ({@code nhwc}), where the channel axis is contiguous.
 */
final class OneDnnSoftmax extends OneDnnLayer {
    private long[] dims;
    private softmax_forward.primitive_desc fwd;
    private softmax_backward.primitive_desc bwd;
    private OneDnnBuffer dst;
    private OneDnnPlanner.Contribution toInput;

    OneDnnSoftmax(Node node) {
        super(node);
    }

    @Override
    void forward(OneDnnPlanner p) {
        OneDnnBuffer in = p.output(node.inputs().get(0));
        dims = OneDnnMd.dims(in.md);
        fwd = p.own(create(p, in.md, p.any(dims)));
        boolean slow = ref(fwd);
        if (!slow && p.training) {
            try (softmax_backward.primitive_desc b = createBackward(p, p.any(dims), fwd.dst_desc(), fwd)) {
                slow = ref(b);
            }
        }
        if (slow && dims.length > 2) {
            memory.desc last = p.own(channelsLast(dims, p.act));
            fwd = p.own(create(p, last, last));
        }
        OneDnnBuffer src = p.convert(label("src"), in, fwd.src_desc(),
                () -> p.temporary(node, "src", Kind.ACTIVATION, fwd.src_desc(), p.forwardStep(node)), p::forward);
        dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
        p.forward(p.prim(label("forward"), fwd, p.lazy(fwd, softmax_forward::new), DNNL_ARG_SRC, src, DNNL_ARG_DST, dst));
        p.setOutput(node, dst);
    }

    private static boolean ref(org.bytedeco.dnnl.primitive_desc_base pd) {
        return pd.impl_info_str().getString().startsWith("ref");
    }

    /** {@code (b, C, d2, ..., dn)} with C innermost: strides b: C*prod(d), di: C*prod(d after i), C: 1. */
    static memory.desc channelsLast(long[] dims, memory.data_type type) {
        long[] strides = new long[dims.length];
        strides[1] = 1;
        long acc = dims[1];
        for (int i = dims.length - 1; i >= 2; i--) {
            strides[i] = acc;
            acc *= dims[i];
        }
        strides[0] = acc;
        return new memory.desc(dims, type, strides);
    }

    private softmax_forward.primitive_desc create(OneDnnPlanner p, memory.desc srcMd, memory.desc dstMd) {
        try {
            return new softmax_forward.primitive_desc(p.eng, forwardKind(p), algorithm.softmax_accurate, srcMd, dstMd, 1,
                    p.sharedAttr, false);
        } catch (RuntimeException e) {
            throw failure("a softmax", e, srcMd);
        }
    }

    private static softmax_backward.primitive_desc createBackward(OneDnnPlanner p, memory.desc diffMd, memory.desc dstMd,
                                                                  softmax_forward.primitive_desc hint) {
        return new softmax_backward.primitive_desc(p.eng, algorithm.softmax_accurate, diffMd, diffMd, dstMd, 1, hint,
                p.sharedAttr, false);
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        bwd = p.firstFast(label("backward"), () -> createBackward(p, p.any(dims), dst.md, fwd),
                () -> createBackward(p, dst.md, dst.md, fwd));
        String input = node.inputs().get(0);
        if (p.requiresGrad(input)) {
            toInput = p.contribution(node, input, "diff_src", bwd.diff_src_desc(), false);
        }
        return bwd.diff_dst_desc();
    }

    @Override
    void backward(OneDnnPlanner p) {
        if (toInput == null) {
            return;
        }
        OneDnnBuffer diff = p.diff(node.name());
        OneDnnBuffer target = p.target(toInput);
        p.backward(p.prim(label("backward"), bwd, p.lazy(bwd, softmax_backward::new),
                DNNL_ARG_DST, dst, DNNL_ARG_DIFF_DST, diff, DNNL_ARG_DIFF_SRC, target));
        p.fold(toInput);
    }
}
