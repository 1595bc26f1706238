package io.batchwise.loss;

import io.batchwise.Shape;

/**
 * Softmax cross-entropy from logits {@code (K)} with integer class labels. With label smoothing
 * {@code eps}, the target distribution is {@code q = (1 - eps) onehot(y) + eps / K}.
 * Per sample: {@code l = -sum_k q_k log softmax(z)_k}; gradient {@code dl/dz = softmax(z) - q}.
 */
public record SoftmaxCrossEntropy(float labelSmoothing) implements Loss {
    public SoftmaxCrossEntropy {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + labelSmoothing);
        }
    }

    public SoftmaxCrossEntropy() {
        this(0f);
    }

    @Override
    public long termsPerSample(Shape outputShape) {
        return 1;
    }

    @Override
    public void checkTargets(Shape outputShape, Targets targets) {
        if (outputShape.rank() != 1) {
            throw new IllegalArgumentException("softmax cross-entropy needs logits of shape (K), got " + outputShape);
        }
        if (!(targets instanceof Targets.Labels l)) {
            throw new IllegalArgumentException("softmax cross-entropy needs class labels, got " + targets.getClass().getSimpleName());
        }
        int k = outputShape.dim(0);
        for (int i = 0; i < l.count(); i++) {
            int y = l.label(i);
            if (y < 0 || y >= k) {
                throw new IllegalArgumentException("label " + y + " of sample " + i + " is outside [0, " + k + ")");
            }
        }
    }
}
