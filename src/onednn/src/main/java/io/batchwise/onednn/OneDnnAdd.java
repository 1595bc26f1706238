package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_0;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.global.dnnl.algorithm;

/**
 * Element-wise sum of two inputs with a binary add (of three or more with a sum), in the first
 * input's layout (others are reordered to it where they differ). The gradient passes unchanged to
 * every input.
 */
final class OneDnnAdd extends OneDnnLayer {
    private OneDnnBuffer dst;
    private final List<OneDnnPlanner.Contribution> toInputs = new ArrayList<>();

    OneDnnAdd(Node node) {
        super(node);
    }

    @Override
    void forward(OneDnnPlanner p) {
        List<String> ins = node.inputs();
        OneDnnBuffer first = p.output(ins.get(0));
        OneDnnBuffer[] srcs = new OneDnnBuffer[ins.size()];
        srcs[0] = first;
        for (int i = 1; i < srcs.length; i++) {
            int k = i;
            srcs[i] = p.convert(label("src" + i), p.output(ins.get(i)), first.md,
                    () -> p.temporary(node, "src" + k, Kind.ACTIVATION, first.md, p.forwardStep(node)), p::forward);
        }
        if (srcs.length == 2) {
            binary.primitive_desc pd;
            try {
                pd = p.own(new binary.primitive_desc(p.eng, algorithm.binary_add, first.md, first.md, first.md,
                        p.sharedAttr, false));
            } catch (RuntimeException e) {
                throw failure("a binary add", e, first.md);
            }
            dst = p.activation(node, pd.dst_desc(), Kind.ACTIVATION);
            p.forward(p.prim(label("forward"), pd, p.lazy(pd, binary::new), DNNL_ARG_SRC_0, srcs[0], DNNL_ARG_SRC_1, srcs[1],
                    DNNL_ARG_DST, dst));
        } else {
            dst = p.activation(node, first.md, Kind.ACTIVATION);
            p.forward(p.sum(label("forward"), dst, srcs));
        }
        p.setOutput(node, dst);
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        for (int i = 0; i < node.inputs().size(); i++) {
            String input = node.inputs().get(i);
            if (p.requiresGrad(input)) {
                toInputs.add(p.contribution(node, input, "diff_src" + i, dst.md, true));
            }
        }
        return dst.md;
    }

    @Override
    void backward(OneDnnPlanner p) {
        for (OneDnnPlanner.Contribution c : toInputs) {
            p.fold(c);
        }
    }
}
