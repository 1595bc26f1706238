package io.batchwise.reference;

import java.util.Map;

/**
 * The buffers one node reads and writes in a bound {@link RefExecutor}: its inputs' outputs and
 * gradients, its own output and gradient, the flat parameter buffers and its workspaces.
 */
final class RefNodeTensors {
    /** The inputs' outputs, {@code (N, ...)} each. */
    final RefTensor[] src;
    /** Gradients with respect to the inputs; an entry is null where none is needed. */
    final RefTensor[] diffSrc;
    /** This node's output {@code (N, ...)}. */
    final RefTensor dst;
    /** Gradient with respect to {@link #dst}; null in inference plans. */
    final RefTensor diffDst;
    /** The bound {@code Parameters}' flat values, gradients and state. */
    final RefTensor values;
    final RefTensor gradients;
    final RefTensor state;
    /** BatchNorm: the effective batch's statistics to use instead of the micro-batch's, or null. */
    io.batchwise.backend.BatchNormFix batchNormFix;
    private final Map<String, RefTensor> tensorWorkspaces;
    private final Map<String, RefIndices> indexWorkspaces;

    RefNodeTensors(RefTensor[] src, RefTensor[] diffSrc, RefTensor dst, RefTensor diffDst, RefTensor values,
                   RefTensor gradients, RefTensor state, Map<String, RefTensor> tensorWorkspaces,
                   Map<String, RefIndices> indexWorkspaces) {
        this.src = src;
        this.diffSrc = diffSrc;
        this.dst = dst;
        this.diffDst = diffDst;
        this.values = values;
        this.gradients = gradients;
        this.state = state;
        this.tensorWorkspaces = tensorWorkspaces;
        this.indexWorkspaces = indexWorkspaces;
    }

    double[] src(int i) {
        return src[i].data;
    }

    /** Input {@code i}'s gradient, or null when it is not needed. */
    double[] diffSrc(int i) {
        return diffSrc[i] == null ? null : diffSrc[i].data;
    }

    double[] dst() {
        return dst.data;
    }

    double[] diffDst() {
        return diffDst.data;
    }

    double[] values() {
        return values.data;
    }

    double[] gradients() {
        return gradients.data;
    }

    double[] state() {
        return state.data;
    }

    /** A tensor workspace, or null in an inference plan. */
    RefTensor workspace(String what) {
        return tensorWorkspaces.get(what);
    }

    /** An index workspace, or null in an inference plan. */
    int[] indices(String what) {
        RefIndices r = indexWorkspaces.get(what);
        return r == null ? null : r.data;
    }
}
