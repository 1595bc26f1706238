package io.batchwise.loss;

import io.batchwise.Shape;

/**
 * Loss and output gradient computed on the host in float64, for backends whose output lives in
 * host memory. A Java loop is the right tool here: the output is {@code (b, K)}, tiny next to the
 * network (about 10 us per step at b = 128, K = 10).
 */
public final class HostLoss {
    private HostLoss() {
    }

    /**
     * @param out     network output, {@code batch * outputShape.size()} values, sample-major
     * @param gradOut receives {@code scale * d(sum loss)/d(out)}, same length; a different array from {@code out}
     */
    public static LossResult compute(Loss loss, Shape outputShape, int batch, double[] out, Targets targets,
                                     double scale, double[] gradOut) {
        if (targets.count() != batch) {
            throw new IllegalArgumentException("got targets for " + targets.count() + " samples, the batch holds " + batch);
        }
        loss.checkTargets(outputShape, targets);
        int per = outputShape.sizeAsInt();
        double sum = 0;
        long correct = 0;
        if (loss instanceof SoftmaxCrossEntropy ce) {
            Targets.Labels labels = (Targets.Labels) targets;
            double eps = ce.labelSmoothing();
            for (int n = 0; n < batch; n++) {
                int o = n * per;
                int y = labels.label(n);
                int arg = 0;
                double max = out[o];
                for (int k = 1; k < per; k++) {
                    if (out[o + k] > max) {
                        max = out[o + k];
                        arg = k;
                    }
                }
                if (arg == y) {
                    correct++;
                }
                // One exp per logit (kept in gradOut until the gradient overwrites it), one log per sample.
                double z = 0;
                for (int k = 0; k < per; k++) {
                    double e = Math.exp(out[o + k] - max);
                    gradOut[o + k] = e;
                    z += e;
                }
                double logZ = Math.log(z) + max;
                double invZ = 1 / z;
                for (int k = 0; k < per; k++) {
                    double q = (k == y ? 1 - eps : 0) + eps / per;
                    sum -= q * (out[o + k] - logZ);
                    gradOut[o + k] = scale * (gradOut[o + k] * invZ - q);
                }
            }
        } else {
            Targets.Values t = (Targets.Values) targets;
            for (int i = 0; i < batch * per; i++) {
                double d = out[i] - t.value(i);
                sum += d * d;
                gradOut[i] = scale * 2 * d;
            }
        }
        return new LossResult(sum, batch * loss.termsPerSample(outputShape), batch, correct);
    }
}
