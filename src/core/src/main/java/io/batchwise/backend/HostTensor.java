package io.batchwise.backend;

/**
 * A tensor in host memory whose logical elements the JVM addresses in place, without copying:
 * what host-side optimizer updates and gradient norms loop over. CPU backends' tensors implement
 * it; device tensors do not.
 */
public interface HostTensor extends Tensor {

    /** Logical element {@code i}. */
    double get(long i);

    /** Sets logical element {@code i} (rounded to the tensor's type). */
    void set(long i, double v);
}
