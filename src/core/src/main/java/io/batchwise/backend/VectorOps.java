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

    /**
     * {@link #axpby} for state that decays (a momentum buffer): each result goes through
     * {@code (r + 2^-80) - 2^-80} in float32, so it is never subnormal (exact from {@code 2^-55} up). A buffer
     * element whose gradient stays zero would otherwise decay to the smallest subnormal and stay there, and CPUs
     * take a microcode assist on every operation that touches one (a oneDNN binary pass over the MLP's 235,146
     * values: 15 us, 280 us with a tenth of them subnormal). The default is {@link #axpby}: for devices that
     * handle subnormals at full speed.
     */
    default void axpbyFlushed(Tensor y, double a, Tensor x, double b) {
        axpby(y, a, x, b);
    }

    /** The float32 offset {@link #axpbyFlushed} adds and subtracts. */
    float FLUSH = 0x1p-80f;

    /** {@code sum of x_i^2}. */
    double sumOfSquares(Tensor x);

    /**
     * One step of an adaptive optimizer rule over weights {@code w}, gradients {@code g} and the rule's
     * {@link UpdateRule#slots()} state tensors, all of the same size, in one pass where they live; returns whether
     * it ran. The default runs nothing and returns false: the caller then runs the rule on the host.
     */
    default boolean update(UpdateRule rule, Tensor w, Tensor g, Tensor[] state) {
        return false;
    }

    /** The portable implementation. */
    static VectorOps host() {
        return HostVectorOps.INSTANCE;
    }
}
