package io.batchwise.cudnn;

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

/**
 * How one node of the graph runs on the GPU, planned in two calls (see {@link CudnnPlanner}):
 * {@link #forward} declares the node's output and emits its forward ops; {@link #backward}, for nodes
 * backward runs for, emits the ops that add its share to each input's gradient and write its
 * parameter gradients.
 */
abstract class CudnnLayer {
    final Node node;

    CudnnLayer(Node node) {
        this.node = node;
    }

    static CudnnLayer of(Node node) {
        return node.layer().accept(new Layer.Visitor<CudnnLayer>() {
            public CudnnLayer visit(Input l) { return new CudnnInput(node); }
            public CudnnLayer visit(Dense l) { return new CudnnDense(node, l); }
            public CudnnLayer visit(Conv2d l) { return new CudnnConv2d(node, l); }
            public CudnnLayer visit(MaxPool2d l) { return new CudnnPooling(node); }
            public CudnnLayer visit(AvgPool2d l) { return new CudnnPooling(node); }
            public CudnnLayer visit(GlobalAvgPool2d l) { return new CudnnPooling(node); }
            public CudnnLayer visit(Flatten l) { return new CudnnFlatten(node); }
            public CudnnLayer visit(ReLU l) { return new CudnnEltwise(node); }
            public CudnnLayer visit(LeakyReLU l) { return new CudnnEltwise(node); }
            public CudnnLayer visit(ELU l) { return new CudnnEltwise(node); }
            public CudnnLayer visit(GELU l) { return new CudnnEltwise(node); }
            public CudnnLayer visit(Tanh l) { return new CudnnEltwise(node); }
            public CudnnLayer visit(Sigmoid l) { return new CudnnEltwise(node); }
            public CudnnLayer visit(Softmax l) { return new CudnnSoftmax(node); }
            public CudnnLayer visit(BatchNorm l) { return new CudnnBatchNorm(node, l); }
            public CudnnLayer visit(Dropout l) { return new CudnnDropout(node, l); }
            public CudnnLayer visit(Add l) { return new CudnnAdd(node); }
            public CudnnLayer visit(Concat l) { return new CudnnConcat(node); }
        });
    }

    abstract void forward(CudnnPlanner p);

    abstract void backward(CudnnPlanner p);

    String label(String what) {
        return node.name() + " " + what;
    }

    /** The node's only input. */
    String input() {
        return node.inputs().get(0);
    }

    /** Elements of one sample of the node's output. */
    int perSample() {
        return node.outputShape().sizeAsInt();
    }
}
