// Losses over the network output, one thread per sample, in float64 as in HostLoss: each writes its
// sample's loss and (for classification) whether the arg-max matched, and scale x the gradient of
// the summed loss into grad. The host adds the per-sample values in order (deterministic).
#include "batchwise.cuh"

// Softmax cross-entropy with label smoothing eps: q = (1 - eps) onehot(y) + eps / K,
// loss = -sum_k q_k log softmax(z)_k, grad = scale (softmax(z) - q); the first maximum is the arg-max.
// logits, grad: (batch, K); labels, correct: (batch) int; loss: (batch) double.
BW_KERNEL void softmax_cross_entropy(long long batch, int classes, float smoothing, double scale, const float* logits,
                                     const int* labels, float* grad, double* loss, int* correct) {
    BW_FOR(n, batch) {
        const float* z = logits + n * classes;
        float* g = grad + n * classes;
        int y = labels[n];
        int arg = 0;
        double max = z[0];
        for (int k = 1; k < classes; k++) {
            if (z[k] > max) {
                max = z[k];
                arg = k;
            }
        }
        double sum = 0.0;
        for (int k = 0; k < classes; k++) {
            sum += exp((double) z[k] - max);
        }
        double logZ = log(sum) + max;
        double eps = smoothing;
        double l = 0.0;
        for (int k = 0; k < classes; k++) {
            double q = (k == y ? 1.0 - eps : 0.0) + eps / classes;
            double logp = (double) z[k] - logZ;
            l -= q * logp;
            g[k] = (float) (scale * (exp(logp) - q));
        }
        loss[n] = l;
        correct[n] = arg == y ? 1 : 0;
    }
}

// Squared error summed over each sample's `per` outputs: loss = sum (z - t)^2, grad = scale 2 (z - t).
// out, target, grad: (batch, per); loss: (batch) double.
BW_KERNEL void squared_error(long long batch, long long per, double scale, const float* out, const float* target,
                             float* grad, double* loss) {
    BW_FOR(n, batch) {
        double l = 0.0;
        for (long long k = n * per; k < (n + 1) * per; k++) {
            double d = (double) out[k] - (double) target[k];
            l += d * d;
            grad[k] = (float) (scale * 2.0 * d);
        }
        loss[n] = l;
    }
}
