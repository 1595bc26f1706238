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
import io.batchwise.layer.Layer;
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
        return node.layer().accept(new Layer.Visitor<OneDnnLayer>() {
            public OneDnnLayer visit(Input l) { return new OneDnnInput(node); }
            public OneDnnLayer visit(Dense l) { return new OneDnnDense(node, l); }
            public OneDnnLayer visit(Conv2d l) { return new OneDnnConv2d(node, l); }
            public OneDnnLayer visit(MaxPool2d l) { return new OneDnnPooling(node); }
            public OneDnnLayer visit(AvgPool2d l) { return new OneDnnPooling(node); }
            public OneDnnLayer visit(GlobalAvgPool2d l) { return new OneDnnPooling(node); }
            public OneDnnLayer visit(Flatten l) { return new OneDnnFlatten(node); }
            public OneDnnLayer visit(ReLU l) { return new OneDnnEltwise(node); }
            public OneDnnLayer visit(LeakyReLU l) { return new OneDnnEltwise(node); }
            public OneDnnLayer visit(ELU l) { return new OneDnnEltwise(node); }
            public OneDnnLayer visit(GELU l) { return new OneDnnEltwise(node); }
            public OneDnnLayer visit(Tanh l) { return new OneDnnEltwise(node); }
            public OneDnnLayer visit(Sigmoid l) { return new OneDnnEltwise(node); }
            public OneDnnLayer visit(Softmax l) { return new OneDnnSoftmax(node); }
            public OneDnnLayer visit(BatchNorm l) { return new OneDnnBatchNorm(node, l); }
            public OneDnnLayer visit(Dropout l) { return new OneDnnDropout(node, l); }
            public OneDnnLayer visit(Add l) { return new OneDnnAdd(node); }
            public OneDnnLayer visit(Concat l) { return new OneDnnConcat(node); }
        });
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
