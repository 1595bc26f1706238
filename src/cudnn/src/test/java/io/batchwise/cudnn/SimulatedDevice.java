package io.batchwise.cudnn;

import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.MemoryTracker;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link CudnnDevice} in plain Java: memory is host byte buffers at made-up 256-byte aligned
 * addresses, and every op runs as a straightforward loop with the semantics the real call has
 * (cuDNN's alpha/beta blending, cuBLAS's column-major GEMM, the statistics cuDNN's BatchNorm keeps).
 * Kernel-backed ops go through {@link KernelCall#of} exactly as on the GPU and then through a Java
 * port of each kernel in native/cuda, so the launch arguments are checked too.
 *
 * <p>It lets the whole backend (planner, program, arena, executor, tensors) run the conformance suite
 * on machines without a GPU, and refuses a cuDNN or cuBLAS op handed a pointer that is not 256-byte aligned.
 * What it cannot check is the cuDNN and cuBLAS call layer of CudaDevice.
 */
final class SimulatedDevice implements CudnnDevice {
    private final MemoryTracker tracker = new MemoryTracker();
    private final TreeMap<Long, ByteBuffer> blocks = new TreeMap<>();
    private final long capacity;
    private long next = 0x7f00_0000_0000L;
    private final ConvAlgorithms algorithms;

    /**
     * @param capacity   bytes the device holds (allocations beyond it fail as out of memory)
     * @param algorithms what {@link #tune} answers: its workspace sizes become buffers of the plan
     */
    SimulatedDevice(long capacity, ConvAlgorithms algorithms) {
        this.capacity = capacity;
        this.algorithms = algorithms;
    }

    SimulatedDevice() {
        this(1L << 30, new ConvAlgorithms(1, 1000, 1, 2000, 1, 3000));
    }

    @Override
    public String describe() {
        return "simulated device (plain Java)";
    }

    @Override
    public MemoryTracker tracker() {
        return tracker;
    }

    @Override
    public synchronized long allocate(long bytes, String what) {
        if (tracker.liveBytes() + bytes > capacity) {
            throw new DeviceOutOfMemoryException("simulated device: " + bytes + " bytes for " + what + " do not fit", bytes, null);
        }
        long address = next;
        next += (bytes + 255) / 256 * 256 + 256;
        blocks.put(address, ByteBuffer.allocate(Math.toIntExact(Math.max(bytes, 1))).order(ByteOrder.LITTLE_ENDIAN));
        tracker.allocated(bytes);
        return address;
    }

    private long scratch;

    /** Outside the tracker, as on the GPU. */
    @Override
    public synchronized long scratch() {
        if (scratch == 0) {
            scratch = next;
            next += (SCRATCH_BYTES + 255) / 256 * 256 + 256;
            blocks.put(scratch, ByteBuffer.allocate((int) SCRATCH_BYTES).order(ByteOrder.LITTLE_ENDIAN));
        }
        return scratch;
    }

    @Override
    public synchronized void free(long address, long bytes) {
        if (blocks.remove(address) == null) {
            throw new IllegalStateException("free of 0x" + Long.toHexString(address) + ", which is not allocated");
        }
        tracker.freed(bytes);
    }

    private Map.Entry<Long, ByteBuffer> last; // the block of the previous access: most accesses hit it again

    /** The block holding {@code bytes} bytes at {@code address}. */
    private synchronized Map.Entry<Long, ByteBuffer> block(long address, long bytes) {
        Map.Entry<Long, ByteBuffer> e = last;
        if (e != null && address >= e.getKey() && address + bytes <= e.getKey() + e.getValue().capacity()
                && blocks.get(e.getKey()) == e.getValue()) {
            return e;
        }
        e = blocks.floorEntry(address);
        if (e == null || address + bytes > e.getKey() + e.getValue().capacity()) {
            throw new IllegalStateException("access to " + bytes + " bytes at 0x" + Long.toHexString(address)
                    + " outside every allocation");
        }
        last = e;
        return e;
    }

    float getF(long address) {
        var e = block(address, 4);
        return e.getValue().getFloat((int) (address - e.getKey()));
    }

    void putF(long address, float v) {
        var e = block(address, 4);
        e.getValue().putFloat((int) (address - e.getKey()), v);
    }

    short getH(long address) {
        var e = block(address, 2);
        return e.getValue().getShort((int) (address - e.getKey()));
    }

    void putH(long address, short v) {
        var e = block(address, 2);
        e.getValue().putShort((int) (address - e.getKey()), v);
    }

    int getI(long address) {
        var e = block(address, 4);
        return e.getValue().getInt((int) (address - e.getKey()));
    }

    void putI(long address, int v) {
        var e = block(address, 4);
        e.getValue().putInt((int) (address - e.getKey()), v);
    }

    double getD(long address) {
        var e = block(address, 8);
        return e.getValue().getDouble((int) (address - e.getKey()));
    }

    void putD(long address, double v) {
        var e = block(address, 8);
        e.getValue().putDouble((int) (address - e.getKey()), v);
    }

    /** {@code n} floats at {@code address} in one bulk read (the simulated ops' own access; not a copy to the host). */
    float[] readFloats(long address, int n) {
        var e = block(address, 4L * n);
        float[] out = new float[n];
        e.getValue().duplicate().order(ByteOrder.LITTLE_ENDIAN).position((int) (address - e.getKey())).slice()
                .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    @Override
    public void upload(long address, float[] src, int offset, int length) {
        block(address, 4L * length);
        for (int i = 0; i < length; i++) {
            putF(address + 4L * i, src[offset + i]);
        }
    }

    @Override
    public void download(long address, float[] dst, int offset, int length) {
        block(address, 4L * length);
        downloadedFloats += length;
        for (int i = 0; i < length; i++) {
            dst[offset + i] = getF(address + 4L * i);
        }
    }

    @Override
    public void uploadShorts(long address, short[] src, int offset, int length) {
        for (int i = 0; i < length; i++) {
            putH(address + 2L * i, src[offset + i]);
        }
    }

    @Override
    public void downloadShorts(long address, short[] dst, int offset, int length) {
        for (int i = 0; i < length; i++) {
            dst[offset + i] = getH(address + 2L * i);
        }
    }

    /** What {@link #bf16Refusal} answers: null (a device with bf16), or a test's refusal. */
    volatile String bf16Refusal;

    @Override
    public String bf16Refusal() {
        return bf16Refusal;
    }

    @Override
    public void uploadInts(long address, int[] src, int offset, int length) {
        for (int i = 0; i < length; i++) {
            putI(address + 4L * i, src[offset + i]);
        }
    }

    @Override
    public void downloadInts(long address, int[] dst, int offset, int length) {
        for (int i = 0; i < length; i++) {
            dst[offset + i] = getI(address + 4L * i);
        }
    }

    @Override
    public void downloadDoubles(long address, double[] dst, int offset, int length) {
        for (int i = 0; i < length; i++) {
            dst[offset + i] = getD(address + 8L * i);
        }
    }

    @Override
    public long[] memory() {
        return new long[] {capacity - tracker.liveBytes(), capacity};
    }

    @Override
    public ConvAlgorithms tune(ConvGeometry g) {
        return algorithms;
    }

    /** cuDNN and cuBLAS calls run, each with every pointer checked to be 256-byte aligned. */
    long cudnnCalls;
    /** Floats copied to the host ({@link #download}). */
    long downloadedFloats;

    /** Launches outside programs ({@link CudnnVectors}), by kernel: a test can tell that an update ran on the device. */
    final java.util.Map<Kernel, Integer> launches = new java.util.EnumMap<>(Kernel.class);

    @Override
    public void launch(KernelCall call, String label) {
        launches.merge(call.kernel(), 1, Integer::sum);
        SimulatedKernels.run(this, call);
    }

    @Override
    public void synchronize(String after) {
    }

    @Override
    public Compiled compile(CudnnProgram program) {
        return new Compiled() {
            @Override
            public void run(CudnnOp op, long[] addresses, Run run) {
                KernelCall k = KernelCall.of(op, addresses, run);
                if (k != null) {
                    SimulatedKernels.run(SimulatedDevice.this, k);
                } else {
                    // What cuDNN and cuBLAS assume of every pointer (cudaMalloc's alignment): refused here, not just slow.
                    for (CudnnBuffer b : op.buffers()) {
                        if (addresses[b.index] % 256 != 0) {
                            throw new IllegalStateException(op.label() + ": " + b + " at 0x" + Long.toHexString(addresses[b.index])
                                    + " is not 256-byte aligned");
                        }
                    }
                    cudnnCalls++;
                    new SimulatedOps(SimulatedDevice.this, addresses, run).run(op);
                }
            }

            @Override
            public void close() {
            }
        };
    }
}
