package io.batchwise.backend;

/**
 * Whole-tensor arithmetic in a backend's own memory, for optimizer updates and gradient norms: the
 * trainer updates parameters where they live instead of copying every weight into Java arrays each
 * step. Operands are tensors of the same number of elements, read in logical order.
 *
 * <p>Backends override {@link Backend#vectors()} with their own kernels (oneDNN primitives, CUDA
 * kernels); {@link #host()} serves any tensor, in bounded chunks.
 */
public interface VectorOps {

    /** {@code y = a * x + b * y}, element by element; {@code x} may be {@code y}. */
    void axpby(Tensor y, double a, Tensor x, double b);

    /** {@code sum of x_i^2}. */
    double sumOfSquares(Tensor x);

    /** The portable implementation. */
    static VectorOps host() {
        return HostVectorOps.INSTANCE;
    }
}
