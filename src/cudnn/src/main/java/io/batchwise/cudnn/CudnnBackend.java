package io.batchwise.cudnn;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.MemoryTracker;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Tensor;
import io.batchwise.backend.VectorOps;
import io.batchwise.plan.Budget;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The cuDNN GPU backend: convolution, pooling, activations, softmax and BatchNorm through cuDNN,
 * dense layers through cuBLAS, losses, dropout masks, copies and gradient accumulation as CUDA C
 * kernels from {@code native/cuda} (compiled at run time with NVRTC), on NVIDIA device 0, float32.
 *
 * <p>Life cycle: instances are cheap and stateless; they share one process-wide device (context,
 * cuDNN and cuBLAS handles, kernels, memory tracker) made on first use. {@link #availability()}
 * probes once and says what is missing (driver, GPU, cuDNN, cuBLAS, NVRTC, the preset's natives)
 * without ever crashing the JVM; every other call on a machine where it is unavailable throws with
 * that reason. {@link #plan} chooses each convolution's algorithms once per shape and sizes every
 * buffer, workspaces included, before anything is allocated; {@link Plan#bind} takes one arena of
 * device memory for the step; closing executors, plans, parameters and tensors frees their memory.
 * A failed device allocation is a {@link io.batchwise.backend.DeviceOutOfMemoryException}. Parameter slots are
 * 256-byte aligned ({@link #parameterLayout}); optimizer updates and gradient norms run as kernels over the
 * flat device buffers ({@link #vectors()}).
 */
public final class CudnnBackend implements Backend {
    private static final MemoryTracker IDLE = new MemoryTracker();

    private final Supplier<CudnnDevice> device;
    private final Supplier<Availability> availability;

    /** The GPU backend (for {@link java.util.ServiceLoader}). */
    public CudnnBackend() {
        this(CudnnBackend::cudaDevice, CudnnAvailability::get);
    }

    /** A backend on another device (the tests' plain-Java one). */
    CudnnBackend(Supplier<CudnnDevice> device, Supplier<Availability> availability) {
        this.device = device;
        this.availability = availability;
    }

    // Kept out of the constructor's lambdas so that CudaDevice (and the CUDA preset) load only when used.
    private static CudnnDevice cudaDevice() {
        return CudaDevice.get();
    }

    @Override
    public String name() {
        return "cudnn";
    }

    @Override
    public Availability availability() {
        return availability.get();
    }

    /** Above oneDNN (10): {@code auto} picks the GPU when there is one. */
    @Override
    public int priority() {
        return 20;
    }

    @Override
    public Set<DataType> dataTypes() {
        return Set.of(DataType.FLOAT32);
    }

    @Override
    public MemoryTracker memory() {
        return availability().available() ? device().tracker() : IDLE;
    }

    @Override
    public Tensor allocate(Shape shape, DataType type) {
        Objects.requireNonNull(shape, "shape");
        checkType(type);
        return CudnnTensor.allocate(device(), shape, null);
    }

    /** Every parameter slot at a multiple of 256 bytes ({@link CudnnPlanner#DEVICE_ALIGNMENT}): what cuDNN and cuBLAS assume. */
    @Override
    public ParameterLayout parameterLayout(Graph graph) {
        return layout(graph);
    }

    static ParameterLayout layout(Graph graph) {
        return new ParameterLayout(graph, CudnnPlanner.DEVICE_ALIGNMENT / 4);
    }

    /** Optimizer rules and sums of squares as kernels over this device's tensors (others go to the host's). */
    @Override
    public VectorOps vectors() {
        return new CudnnVectors(device());
    }

    @Override
    public Plan plan(Graph graph, int microBatch, PlanOptions options) {
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(options, "options");
        checkType(options.dataType());
        CudnnDevice d = device();
        if (options.precision() == io.batchwise.backend.Precision.BF16_MIXED) {
            String why = d.bf16Refusal();
            if (why != null) {
                throw new UnsupportedOperationException(why);
            }
        }
        return new CudnnPlan(d, CudnnPlanner.compile(graph, microBatch, options, d::tune));
    }

    /**
     * The memory budget for training on the device: its free memory now, less {@code marginBytes} for
     * what this process still needs outside the planned buffers (cuBLAS's and cuDNN's own workspaces,
     * kernel modules) and for other processes' growth.
     */
    public Budget deviceBudget(long marginBytes) {
        CudnnDevice d = device();
        long[] m = d.memory();
        long bytes = m[0] - marginBytes;
        String source = String.format("device: free %s of %s - margin %s on %s", Budget.human(m[0]), Budget.human(m[1]),
                Budget.human(marginBytes), d.describe());
        if (bytes <= 0) {
            throw new IllegalStateException("no device memory left for tensors: " + source);
        }
        return new Budget(bytes, source);
    }

    /** Free device memory, not the host's: {@link #deviceBudget()}. */
    @Override
    public Budget automaticBudget(long hostMarginBytes) {
        return deviceBudget();
    }

    /** {@link #deviceBudget(long)} with a margin of 5% of the device's memory plus 256 MiB. */
    public Budget deviceBudget() {
        long total = device().memory()[1];
        return deviceBudget(total / 20 + (256L << 20));
    }

    private CudnnDevice device() {
        Availability a = availability();
        if (!a.available()) {
            throw new IllegalStateException("backend 'cudnn' cannot run here: " + a.reason());
        }
        return device.get();
    }

    private static void checkType(DataType type) {
        if (type != DataType.FLOAT32) {
            throw new IllegalArgumentException("the cudnn backend computes in FLOAT32 only, not " + type);
        }
    }

    @Override
    public String toString() {
        return "cudnn";
    }
}
