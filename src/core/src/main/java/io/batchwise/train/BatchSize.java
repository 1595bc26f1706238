package io.batchwise.train;

/**
 * The effective batch: how many samples the optimizer sees per step. The regime follows from it:
 * full-batch gradient descent (the whole training set, one step per epoch), mini-batch, or
 * stochastic (one sample per step). How many samples one forward/backward pass holds (the
 * micro-batch) is a separate, memory-driven choice.
 */
public sealed interface BatchSize {

    /** The effective batch for a training set of {@code datasetSize} samples. */
    int resolve(int datasetSize);

    static BatchSize full() {
        return new Full();
    }

    static BatchSize mini(int samples) {
        return new Mini(samples);
    }

    static BatchSize stochastic() {
        return new Mini(1);
    }

    record Full() implements BatchSize {
        public int resolve(int datasetSize) {
            return datasetSize;
        }

        @Override
        public String toString() {
            return "full-batch";
        }
    }

    record Mini(int samples) implements BatchSize {
        public Mini {
            if (samples <= 0) {
                throw new IllegalArgumentException("the effective batch must be positive, got " + samples);
            }
        }

        public int resolve(int datasetSize) {
            return Math.min(samples, datasetSize);
        }

        @Override
        public String toString() {
            return samples == 1 ? "stochastic (1)" : "mini-batch " + samples;
        }
    }
}
