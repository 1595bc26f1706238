package io.batchwise.onednn;

import io.batchwise.Node;
import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Concat;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.ELU;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.GELU;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Input;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Softmax;
import io.batchwise.layer.Tanh;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.global.dnnl.prop_kind;

/**
 * How one node of the graph runs on oneDNN. A layer is planned in three calls (see
 * {@link OneDnnPlanner}): {@link #forward}, then for nodes that take part in backward
 * {@link #planBackward} (primitive descriptors, contributions to the inputs' gradients; returns the
 * layout of its own output gradient) and {@link #backward} (the ops, in execution order).
 */
abstract class OneDnnLayer {
    final Node node;

    OneDnnLayer(Node node) {
        this.node = node;
    }

    static OneDnnLayer of(Node node) {
        var l = node.layer();
        if (l instanceof Input) {
            return new OneDnnInput(node);
        } else if (l instanceof Dense d) {
            return new OneDnnDense(node, d);
        } else if (l instanceof Conv2d c) {
            return new OneDnnConv2d(node, c);
        } else if (l instanceof MaxPool2d || l instanceof AvgPool2d || l instanceof GlobalAvgPool2d) {
            return new OneDnnPooling(node);
        } else if (l instanceof Flatten) {
            return new OneDnnFlatten(node);
        } else if (l instanceof ReLU || l instanceof LeakyReLU || l instanceof ELU || l instanceof GELU
                || l instanceof Tanh || l instanceof Sigmoid) {
            return new OneDnnEltwise(node);
        } else if (l instanceof Softmax) {
            return new OneDnnSoftmax(node);
        } else if (l instanceof BatchNorm b) {
            return new OneDnnBatchNorm(node, b);
        } else if (l instanceof Dropout d) {
            return new OneDnnDropout(node, d);
        } else if (l instanceof Add) {
            return new OneDnnAdd(node);
        } else if (l instanceof Concat) {
            return new OneDnnConcat(node);
        }
        throw new IllegalArgumentException("node " + node.describe() + ": the oneDNN backend has no " + l.typeName());
    }

    abstract void forward(OneDnnPlanner p);

    abstract memory.desc planBackward(OneDnnPlanner p);

    abstract void backward(OneDnnPlanner p);

    String label(String what) {
        return node.name() + " " + what;
    }

    static prop_kind forwardKind(OneDnnPlanner p) {
        return p.training ? prop_kind.forward_training : prop_kind.forward_inference;
    }

    /** A failed primitive-descriptor creation, with the node and the layouts that were asked for. */
    RuntimeException failure(String what, RuntimeException e, memory.desc... mds) {
        StringBuilder sb = new StringBuilder();
        for (memory.desc md : mds) {
            sb.append(sb.length() > 0 ? ", " : "").append(OneDnnMd.describe(md));
        }
        return new IllegalStateException("node " + node.describe() + ": oneDNN cannot create " + what + " for " + sb
                + ": " + e.getMessage(), e);
    }
}
