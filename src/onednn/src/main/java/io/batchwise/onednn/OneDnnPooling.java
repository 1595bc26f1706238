package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;

import io.batchwise.Node;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.plan.MemoryPlan.Kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_backward;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.global.dnnl.algorithm;

/**
 * Max and average pooling {@code {b, C, H, W} -> {b, C, OH, OW}}, and global average pooling as an
 * average pooling whose window is the whole image: {@code {b, C, H, W} -> {b, C, 1, 1}}, reordered to
 * plain so that the node's {@code (b, C)} output is the same bytes. Max pooling keeps oneDNN's
 * workspace (the arg-max positions) from forward to backward.
 */
final class OneDnnPooling extends OneDnnLayer {
    private algorithm alg;
    private boolean global;
    private long[] srcDims;
    private long[] dstDims;
    private long[] kernel;
    private long[] strides;
    private long[] padL;
    private long[] padR;
    private final long[] dilation = {0, 0};
    private pooling_forward.primitive_desc fwd;
    private pooling_backward.primitive_desc bwd;
    private OneDnnBuffer workspace;
    private OneDnnPlanner.Contribution toInput;

    OneDnnPooling(Node node) {
        super(node);
    }

    @Override
    void forward(OneDnnPlanner p) {
        OneDnnBuffer in = p.output(node.inputs().get(0));
        srcDims = OneDnnMd.dims(in.md);
        var l = node.layer();
        if (l instanceof MaxPool2d m) {
            alg = algorithm.pooling_max;
            setWindow(m.kernelH(), m.kernelW(), m.strideH(), m.strideW(), m.padH(), m.padW());
        } else if (l instanceof AvgPool2d a) {
            alg = a.countIncludePad() ? algorithm.pooling_avg_include_padding : algorithm.pooling_avg_exclude_padding;
            setWindow(a.kernelH(), a.kernelW(), a.strideH(), a.strideW(), a.padH(), a.padW());
        } else if (l instanceof GlobalAvgPool2d) {
            alg = algorithm.pooling_avg_exclude_padding;
            global = true;
            setWindow((int) srcDims[2], (int) srcDims[3], 1, 1, 0, 0);
        } else {
            throw new IllegalArgumentException(node.describe() + " is not a pooling layer");
        }
        memory.desc dstAny = p.any(dstDims);
        try {
            fwd = p.own(new pooling_forward.primitive_desc(p.eng, forwardKind(p), alg, in.md, dstAny, strides, kernel, dilation,
                    padL, padR, p.sharedAttr, false));
        } catch (RuntimeException e) {
            throw failure("a pooling", e, in.md, dstAny);
        }
        OneDnnBuffer src = p.convert(label("src"), in, fwd.src_desc(), () -> p.workspace(node, "src", fwd.src_desc()), p::forward);
        memory.desc wsMd = fwd.workspace_desc();
        workspace = wsMd.get_size() > 0 ? p.workspace(node, "workspace", wsMd) : null;
        if (!global) {
            OneDnnBuffer dst = p.activation(node, fwd.dst_desc(), Kind.ACTIVATION);
            p.forward(p.prim(label("forward"), fwd, p.lazy(fwd, pooling_forward::new),
                    DNNL_ARG_SRC, src, DNNL_ARG_DST, dst, DNNL_ARG_WORKSPACE, workspace));
            p.setOutput(node, dst);
            return;
        }
        // {b, C, 1, 1} in oneDNN's layout -> plain {b, C, 1, 1} = plain {b, C}
        OneDnnBuffer out = p.activation(node, p.plain(srcDims[0], srcDims[1]), Kind.ACTIVATION);
        OneDnnBuffer out4 = p.alias(node.name() + ".dst4", out, p.plain(dstDims));
        OneDnnBuffer pooled = fwd.dst_desc().equals(out4.md) ? out4
                : p.temporary(node, "pooled", Kind.ACTIVATION, fwd.dst_desc(), p.forwardStep(node));
        p.forward(p.prim(label("forward"), fwd, p.lazy(fwd, pooling_forward::new),
                DNNL_ARG_SRC, src, DNNL_ARG_DST, pooled, DNNL_ARG_WORKSPACE, workspace));
        if (pooled != out4) {
            p.forward(p.reorder(label("to plain"), pooled, out4, false));
        }
        p.setOutput(node, out);
    }

    private void setWindow(int kh, int kw, int sh, int sw, int ph, int pw) {
        kernel = new long[] {kh, kw};
        strides = new long[] {sh, sw};
        padL = new long[] {ph, pw};
        // Symmetric padding: oneDNN's output size (floor division) then matches ours.
        padR = new long[] {ph, pw};
        long oh = (srcDims[2] + 2L * ph - kh) / sh + 1;
        long ow = (srcDims[3] + 2L * pw - kw) / sw + 1;
        dstDims = new long[] {srcDims[0], srcDims[1], oh, ow};
    }

    @Override
    memory.desc planBackward(OneDnnPlanner p) {
        bwd = p.own(new pooling_backward.primitive_desc(p.eng, alg, p.any(srcDims), p.any(dstDims), strides, kernel, dilation,
                padL, padR, fwd, p.sharedAttr, false));
        String input = node.inputs().get(0);
        if (p.requiresGrad(input)) {
            toInput = p.contribution(node, input, "diff_src", bwd.diff_src_desc(), false);
        }
        return global ? p.plain(srcDims[0], srcDims[1]) : bwd.diff_dst_desc();
    }

    @Override
    void backward(OneDnnPlanner p) {
        if (toInput == null) {
            return;
        }
        int step = p.backwardStep(node);
        OneDnnBuffer diff = p.diff(node.name());
        if (global) {
            diff = p.alias(node.name() + ".diff_dst4", diff, p.plain(dstDims));
        }
        OneDnnBuffer dd = p.convert(label("diff_dst"), diff, bwd.diff_dst_desc(),
                () -> p.temporary(node, "diff_dst_b", Kind.ACTIVATION_GRADIENT, bwd.diff_dst_desc(), step), p::backward);
        OneDnnBuffer target = p.target(toInput);
        p.backward(p.prim(label("backward"), bwd, p.lazy(bwd, pooling_backward::new),
                DNNL_ARG_DIFF_DST, dd, DNNL_ARG_DIFF_SRC, target, DNNL_ARG_WORKSPACE, workspace));
        p.fold(toInput);
    }
}
