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

/** Softmax over axis 1 of {@code (b, C, ...)}; backward reads the forward output. */
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
        fwd = create(p, in.md);
        if (fwd.impl_info_str().getString().startsWith("ref") && !OneDnnMd.isPlain(in.md)) {
            fwd = create(p, p.plain(dims)); // a blocked channel axis has no fast softmax: reorder to plain
        }
        OneDnnBuffer src = p.convert(label("src"), in, fwd.src_desc(),
                () -> p.temporary(node, "src", Kind.ACTIVATION, fwd.src_desc(), p.forwardStep(node)), p::forward);
        dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
        p.forward(p.prim(label("forward"), fwd, p.own(new softmax_forward(fwd)), DNNL_ARG_SRC, src, DNNL_ARG_DST, dst));
        p.setOutput(node, dst);
    }

    private softmax_forward.primitive_desc create(OneDnnPlanner p, memory.desc srcMd) {
        try {
            return p.own(new softmax_forward.primitive_desc(p.eng, forwardKind(p), algorithm.softmax_accurate, srcMd,
                    p.any(dims), 1, OneDnnPlanner.attr(), false));
        } catch (RuntimeException e) {
            throw failure("a softmax", e, srcMd);
        }
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        bwd = p.own(new softmax_backward.primitive_desc(p.eng, algorithm.softmax_accurate, p.any(dims), p.any(dims), dst.md, 1,
                fwd, OneDnnPlanner.attr(), false));
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
        p.backward(p.prim(label("backward"), bwd, p.own(new softmax_backward(bwd)),
                DNNL_ARG_DST, dst, DNNL_ARG_DIFF_DST, diff, DNNL_ARG_DIFF_SRC, target));
        p.fold(toInput);
    }
}
