package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

import io.batchwise.Node;
import io.batchwise.layer.ELU;
import io.batchwise.layer.GELU;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Tanh;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.global.dnnl.algorithm;

/**
 * Element-wise activations in their producer's layout: ReLU, leaky ReLU (ReLU with alpha = slope),
 * ELU, GELU (erf), tanh, sigmoid (logistic). Backward reads the forward source.
 */
final class OneDnnEltwise extends OneDnnLayer {
    private algorithm alg;
    private float alpha;
    private long[] dims;
    private eltwise_forward.primitive_desc fwd;
    private eltwise_backward.primitive_desc bwd;
    private OneDnnBuffer src;
    /** The producer applied this ReLU as a post-op: {@link #src} holds the ReLU's output. */
    private boolean fused;
    private OneDnnPlanner.Contribution toInput;
    /** The backward overwrites this node's own gradient with its input's (a pass-through contribution). */
    private boolean inPlace;

    OneDnnEltwise(Node node) {
        super(node);
        var l = node.layer();
        if (l instanceof ReLU) {
            alg = algorithm.eltwise_relu;
        } else if (l instanceof LeakyReLU r) {
            alg = algorithm.eltwise_relu;
            alpha = r.slope();
        } else if (l instanceof ELU e) {
            alg = algorithm.eltwise_elu;
            alpha = e.alpha();
        } else if (l instanceof GELU) {
            alg = algorithm.eltwise_gelu_erf;
        } else if (l instanceof Tanh) {
            alg = algorithm.eltwise_tanh;
        } else if (l instanceof Sigmoid) {
            alg = algorithm.eltwise_logistic;
        } else {
            throw new IllegalArgumentException(node.describe() + " is not an element-wise activation");
        }
    }

    @Override
    void forward(OneDnnPlanner p) {
        OneDnnBuffer in = p.output(node.inputs().get(0));
        dims = OneDnnMd.dims(in.md);
        fused = p.fusedRelus.contains(node.name());
        if (fused) {
            // Backward from the output: relu'(x) = [y > 0]. This forward descriptor is only the backward's hint.
            alg = algorithm.eltwise_relu_use_dst_for_bwd;
        }
        try {
            fwd = p.own(new eltwise_forward.primitive_desc(p.eng, forwardKind(p), alg, in.md, in.md, alpha, 0f,
                    p.sharedAttr, false));
        } catch (RuntimeException e) {
            throw failure("an element-wise " + alg, e, in.md);
        }
        src = in;
        if (fused) {
            p.setOutput(node, in);
            return;
        }
        OneDnnBuffer dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
        p.forward(p.prim(label("forward"), fwd, p.lazy(fwd, eltwise_forward::new), DNNL_ARG_SRC, src, DNNL_ARG_DST, dst));
        p.setOutput(node, dst);
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        bwd = p.own(new eltwise_backward.primitive_desc(p.eng, alg, p.any(dims), p.any(dims), src.md, alpha, 0f, fwd,
                p.sharedAttr, false));
        String input = node.inputs().get(0);
        memory.desc grad = bwd.diff_dst_desc();
        // In place (diff_src over diff_dst) when this node's gradient buffer is its own: one activation-sized
        // buffer less, and a pass that reads and writes the same lines (LeNet-5's first ReLU backward: 0.27 -> 0.1 ms).
        inPlace = bwd.diff_src_desc().equals(grad) && p.ownsGradient(node, grad);
        if (p.requiresGrad(input)) {
            toInput = p.contribution(node, input, "diff_src", bwd.diff_src_desc(), inPlace);
        }
        return grad;
    }

    @Override
    void backward(OneDnnPlanner p) {
        if (toInput == null) {
            return;
        }
        OneDnnBuffer diff = p.diff(node.name());
        OneDnnBuffer target = inPlace ? diff : p.target(toInput);
        p.backward(p.prim(label("backward"), bwd, p.lazy(bwd, eltwise_backward::new),
                fused ? DNNL_ARG_DST : DNNL_ARG_SRC, src, DNNL_ARG_DIFF_DST, diff, DNNL_ARG_DIFF_SRC, target));
        p.fold(toInput);
    }
}
