/**
 * The backend SPI: a {@link io.batchwise.backend.Backend} compiles a graph for one micro-batch into a
 * {@link io.batchwise.backend.Plan} whose memory is known before anything is allocated, binds it to an
 * {@link io.batchwise.backend.Executor} and owns the {@link io.batchwise.backend.Parameters} and
 * {@link io.batchwise.backend.Tensor}s it allocates. {@link io.batchwise.backend.Backends} finds the backends on the
 * class path through {@link java.util.ServiceLoader} ({@code reference}, {@code onednn}, {@code cudnn}) and picks one
 * with {@code auto}. Implementations live in their own jars; {@code batchwise-testkit} holds the conformance suite
 * each of them passes.
 */
package io.batchwise.backend;
