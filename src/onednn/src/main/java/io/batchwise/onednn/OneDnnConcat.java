package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MULTIPLE_SRC;

import io.batchwise.Node;
import io.batchwise.plan.MemoryPlan.Kind;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.dnnl.concat;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.memory_desc_vector;

/**
 * Concatenation along the channel axis with the concat primitive; its gradient is kept plain so that
 * each input's share is a sub-memory view, reordered into that input's gradient.
 */
final class OneDnnConcat extends OneDnnLayer {
    private long[] dstDims;
    private final List<OneDnnPlanner.Contribution> toInputs = new ArrayList<>();

    OneDnnConcat(Node node) {
        super(node);
    }

    @Override
    void forward(OneDnnPlanner p) {
        List<String> ins = node.inputs();
        memory.desc[] mds = new memory.desc[ins.size()];
        Object[] args = new Object[2 * ins.size() + 2];
        for (int i = 0; i < mds.length; i++) {
            OneDnnBuffer b = p.output(ins.get(i));
            mds[i] = b.md;
            args[2 * i] = DNNL_ARG_MULTIPLE_SRC + i;
            args[2 * i + 1] = b;
        }
        concat.primitive_desc pd;
        try {
            pd = p.own(new concat.primitive_desc(p.eng, 1, new memory_desc_vector(mds), p.sharedAttr, false));
            if (pd.impl_info_str().getString().startsWith("ref")) {
                // Mixed layouts: concatenate plain copies instead.
                for (int i = 0; i < mds.length; i++) {
                    OneDnnBuffer b = (OneDnnBuffer) args[2 * i + 1];
                    memory.desc plain = p.plain(OneDnnMd.dims(b.md));
                    int k = i;
                    args[2 * i + 1] = p.convert(label("src" + i), b, plain,
                            () -> p.temporary(node, "src" + k, Kind.ACTIVATION, plain, p.forwardStep(node)), p::forward);
                    mds[i] = plain;
                }
                pd = p.own(new concat.primitive_desc(p.eng, 1, new memory_desc_vector(mds), p.sharedAttr, false));
            }
        } catch (RuntimeException e) {
            throw failure("a concat", e, mds);
        }
        OneDnnBuffer dst = p.activation(node, pd.dst_desc(), Kind.ACTIVATION);
        dstDims = OneDnnMd.dims(dst.md);
        args[2 * mds.length] = DNNL_ARG_DST;
        args[2 * mds.length + 1] = dst;
        p.forward(p.prim(label("forward"), pd, p.lazy(pd, concat::new), args));
        p.setOutput(node, dst);
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        memory.desc diffMd = p.plain(dstDims);
        long channel = 0;
        for (int i = 0; i < node.inputs().size(); i++) {
            String input = node.inputs().get(i);
            long[] d = OneDnnMd.dims(p.output(input).md);
            if (p.requiresGrad(input)) {
                long[] offsets = new long[d.length];
                offsets[1] = channel;
                toInputs.add(p.contribution(node, input, "diff_src" + i, diffMd.submemory_desc(d, offsets), true));
            }
            channel += d[1];
        }
        return diffMd;
    }

    @Override
    void backward(OneDnnPlanner p) {
        for (OneDnnPlanner.Contribution c : toInputs) {
            p.fold(c);
        }
    }
}
