package io.batchwise.backend;

/**
 * A tensor in host memory whose logical elements the JVM addresses one at a time, in place: for
 * tests and host-side code that touch a few elements. Bulk work uses {@link #read}/{@link #write}.
 * CPU backends' tensors implement it; device tensors do not.
 */
public interface HostTensor extends Tensor {

    /** Logical element {@code i}. */
    double get(long i);

    /** Sets logical element {@code i} (rounded to the tensor's type). */
    void set(long i, double v);
}
