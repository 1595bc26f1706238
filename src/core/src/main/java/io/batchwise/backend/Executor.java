package io.batchwise.backend;

import io.batchwise.loss.Loss;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.Targets;

/**
 * A plan bound to memory: runs forward, loss and backward for one micro-batch of exactly
 * {@link Plan#microBatch()} samples. Tensors it returns are views it owns; {@code close()} frees
 * everything it allocated (checked through {@link Backend#memory()}).
 *
 * <p>A training step: write {@link #input()}, {@link #forward}, {@link #loss}, {@link #backward}.
 * A layer test may instead write {@link #outputGradient()} itself before {@link #backward}.
 */
public interface Executor extends AutoCloseable {

    Plan plan();

    Parameters parameters();

    /** The input node's tensor {@code (b, ...)}. */
    Tensor input(String name);

    /** The graph's only input. */
    default Tensor input() {
        var inputs = plan().graph().inputs();
        if (inputs.size() != 1) {
            throw new IllegalStateException("the graph has " + inputs.size() + " inputs; name one");
        }
        return input(inputs.get(0).name());
    }

    /** The output node's tensor {@code (b, ...)}. */
    Tensor output();

    /** Gradient of the loss with respect to {@link #output()}; the start of backward. */
    Tensor outputGradient();

    /** Gradient with respect to an input node; needs {@link PlanOptions#inputGradients()}. */
    Tensor inputGradient(String name);

    /** Runs every node forward. In training mode BatchNorm updates its running statistics. */
    void forward(Pass pass);

    /**
     * Computes {@code loss} summed over the micro-batch against {@code targets} (one per sample) and
     * writes {@code scale * d(sum)/d(output)} into {@link #outputGradient()}.
     */
    LossResult loss(Loss loss, Targets targets, double scale);

    /** Backpropagates {@link #outputGradient()}; parameter gradients are overwritten or accumulated. */
    void backward(GradientMode mode);

    /**
     * The mean and biased variance (one per channel) that BatchNorm node {@code node} computed over the
     * micro-batch in the last training forward pass. For exact BatchNorm; backends without it throw
     * {@link UnsupportedOperationException}.
     */
    default void batchNormStatistics(String node, double[] mean, double[] variance) {
        throw new UnsupportedOperationException("exact BatchNorm (BatchNormMode.EXACT) is not implemented by "
                + plan().getClass().getSimpleName() + "; use BatchNormMode.GHOST");
    }

    /** From the next pass on, BatchNorm node {@code node} uses {@code fix}; null restores its micro-batch statistics. */
    default void fixBatchNorm(String node, BatchNormFix fix) {
        throw new UnsupportedOperationException("exact BatchNorm (BatchNormMode.EXACT) is not implemented by "
                + plan().getClass().getSimpleName() + "; use BatchNormMode.GHOST");
    }

    @Override
    void close();
}
