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
        var l = node.layer();
        if (l instanceof Input) {
            return new CudnnInput(node);
        } else if (l instanceof Dense d) {
            return new CudnnDense(node, d);
        } else if (l instanceof Conv2d c) {
            return new CudnnConv2d(node, c);
        } else if (l instanceof MaxPool2d || l instanceof AvgPool2d || l instanceof GlobalAvgPool2d) {
            return new CudnnPooling(node);
        } else if (l instanceof Flatten) {
            return new CudnnFlatten(node);
        } else if (l instanceof ReLU || l instanceof LeakyReLU || l instanceof ELU || l instanceof GELU
                || l instanceof Tanh || l instanceof Sigmoid) {
            return new CudnnEltwise(node);
        } else if (l instanceof Softmax) {
            return new CudnnSoftmax(node);
        } else if (l instanceof BatchNorm b) {
            return new CudnnBatchNorm(node, b);
        } else if (l instanceof Dropout d) {
            return new CudnnDropout(node, d);
        } else if (l instanceof Add) {
            return new CudnnAdd(node);
        } else if (l instanceof Concat) {
            return new CudnnConcat(node);
        }
        throw new IllegalArgumentException("node " + node.describe() + ": the cudnn backend has no " + l.typeName());
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
