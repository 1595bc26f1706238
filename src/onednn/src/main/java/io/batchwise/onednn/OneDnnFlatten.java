package io.batchwise.onednn;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.memory;

/**
 * {@code (b, C, H, W) -> (b, C*H*W)}: the same bytes under a new descriptor when the input is plain;
 * a blocked input is first reordered to plain. The gradient goes back the same way (a plain view,
 * reordered by the producer if it wants another layout).
 */
final class OneDnnFlatten extends OneDnnLayer {
    private long[] inDims;
    private OneDnnPlanner.Contribution toInput;

    OneDnnFlatten(Node node) {
        super(node);
    }

    @Override
    void forward(OneDnnPlanner p) {
        OneDnnBuffer in = p.output(node.inputs().get(0));
        inDims = OneDnnMd.dims(in.md);
        long[] outDims = {p.batch, OneDnnMd.product(inDims) / p.batch};
        if (OneDnnMd.isPlain(in.md)) {
            p.setOutput(node, p.alias(node.name() + ".dst", in, p.plain(outDims)));
            return;
        }
        OneDnnBuffer out = p.activation(node, p.plain(outDims), Kind.ACTIVATION);
        OneDnnBuffer outAsIn = p.alias(node.name() + ".dst_unflat", out, p.plain(inDims));
        p.forward(p.reorder(label("to plain (" + OneDnnMd.describe(in.md) + ")"), in, outAsIn, false));
        p.setOutput(node, out);
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        String input = node.inputs().get(0);
        if (p.requiresGrad(input)) {
            toInput = p.contribution(node, input, "diff_src", p.plain(inDims), true);
        }
        return p.plain(p.batch, OneDnnMd.product(inDims) / p.batch);
    }

    @Override
    void backward(OneDnnPlanner p) {
        if (toInput != null) {
            p.fold(toInput);
        }
    }
}
