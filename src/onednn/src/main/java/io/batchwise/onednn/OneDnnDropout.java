package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_0;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;

import io.batchwise.Node;
import io.batchwise.backend.Pass;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.DropoutMask;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.global.dnnl.algorithm;

/**
 * Inverted dropout. In a training pass the host fills a mask in the source's layout, element
 * {@code e} of global sample {@code pass.sample(n)} being {@code 1 / (1 - rate)} when
 * {@link DropoutMask#keep} keeps it and 0 otherwise, and a binary multiply applies it; backward
 * multiplies the gradient by the same mask. An inference pass copies (an inference-only plan
 * aliases the source instead).
 */
final class OneDnnDropout extends OneDnnLayer {
    private final Dropout spec;
    private long[] dims;
    private OneDnnBuffer mask;
    private OneDnnBuffer dst;
    private binary.primitive_desc bwd;
    private OneDnnPlanner.Contribution toInput;

    OneDnnDropout(Node node, Dropout spec) {
        super(node);
        this.spec = spec;
    }

    @Override
    void forward(OneDnnPlanner p) {
        OneDnnBuffer src = p.output(node.inputs().get(0));
        dims = OneDnnMd.dims(src.md);
        if (!p.training) {
            p.setOutput(node, p.alias(node.name() + ".dst", src, src.md));
            return;
        }
        mask = p.workspace(node, "mask", src.md);
        binary.primitive_desc fwd = p.own(new binary.primitive_desc(p.eng, algorithm.binary_mul, src.md, mask.md, src.md,
                p.sharedAttr, false));
        dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
        long perSample = OneDnnMd.product(dims) / dims[0];
        p.forwardTrainingOnly(new OneDnnOp.Host(label("mask"), (ex, pass) -> fillMask(ex.tensor(mask), pass, perSample), mask));
        p.forwardTrainingOnly(p.prim(label("forward"), fwd, p.lazy(fwd, binary::new),
                DNNL_ARG_SRC_0, src, DNNL_ARG_SRC_1, mask, DNNL_ARG_DST, dst));
        p.forwardInferenceOnly(p.reorder(label("identity"), src, dst, false));
        p.setOutput(node, dst);
    }

    private void fillMask(OneDnnTensor m, Pass pass, long perSample) {
        long key = DropoutMask.nodeKey(pass.seed(), node.name());
        float rate = spec.rate();
        float kept = (float) (1.0 / (1.0 - rate));
        OneDnnLayout layout = m.layout();
        if (!layout.plain()) {
            // Padding of a blocked layout must hold zeros (not what an earlier buffer left in the arena).
            for (long i = 0, n = m.physicalElements(); i < n; i++) {
                m.putAt(i, 0f);
            }
        }
        long samples = dims[0];
        for (long n = 0; n < samples; n++) {
            long sample = pass.sample(n);
            for (long e = 0; e < perSample; e++) {
                float v = DropoutMask.keep(key, sample, e, rate) ? kept : 0f;
                m.putAt(layout.offset(n * perSample + e), v);
            }
        }
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        String input = node.inputs().get(0);
        if (p.requiresGrad(input)) {
            bwd = p.own(new binary.primitive_desc(p.eng, algorithm.binary_mul, dst.md, mask.md, p.any(dims),
                    p.sharedAttr, false));
            toInput = p.contribution(node, input, "diff_src", bwd.dst_desc(), false);
        }
        return dst.md;
    }

    @Override
    void backward(OneDnnPlanner p) {
        if (toInput == null) {
            return;
        }
        OneDnnBuffer target = p.target(toInput);
        p.backward(p.prim(label("backward"), bwd, p.lazy(bwd, binary::new),
                DNNL_ARG_SRC_0, p.diff(node.name()), DNNL_ARG_SRC_1, mask, DNNL_ARG_DST, target));
        p.fold(toInput);
    }
}
