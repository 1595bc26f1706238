package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.DeviceOutOfMemoryException;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.loss.LossResult;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.models.Models;
import io.batchwise.plan.Budget;
import io.batchwise.reference.ReferenceBackend;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * GPU facts the suites do not cover: a real out-of-memory from cudaMalloc is the exception the trainer
 * recovers from and leaves the device usable, the budget comes from free device memory, convolution
 * algorithms are chosen once per shape, and the built-in models at realistic sizes (where cuDNN picks
 * other algorithms than for the suite's tiny shapes) match the reference backend. Skipped without a GPU.
 */
class CudnnDeviceTest {
    private static CudnnBackend backend;

    @BeforeEach
    void gpu() {
        Gpu.assumeAvailable();
        backend = new CudnnBackend();
    }

    @Test
    void anAllocationBeyondTheDeviceIsRecoverable() {
        CudaDevice d = CudaDevice.get();
        long total = d.memory()[1];
        long live = d.tracker().liveBytes();
        var e = assertThrows(DeviceOutOfMemoryException.class, () -> d.allocate(2 * total, "a test tensor"));
        assertEquals(2 * total, e.requestedBytes());
        assertTrue(e.getMessage().contains("cudaMalloc") && e.getMessage().contains("a test tensor")
                && e.getMessage().contains("free of"), e.getMessage());
        assertEquals(live, d.tracker().liveBytes());
        long a = d.allocate(1 << 20, "after the failure");
        d.free(a, 1 << 20);
        d.synchronize("the test");
    }

    @Test
    void theBudgetIsFreeDeviceMemoryLessTheMargin() {
        long[] m = CudaDevice.get().memory();
        Budget b = backend.deviceBudget(64L << 20);
        assertTrue(b.bytes() > 0 && b.bytes() <= m[0] - (64L << 20) + (256L << 20), b.toString());
        assertTrue(b.source().startsWith("device: free"), b.source());
    }

    @Test
    void convolutionAlgorithmsAreChosenOncePerShape() {
        CudaDevice d = CudaDevice.get();
        ConvGeometry g = new ConvGeometry(32, 16, 28, 28, 32, 3, 3, 1, 1, 2, 2, 1, 1, 14, 14);
        ConvAlgorithms a = d.tune(g);
        assertSame(a, d.tune(g));
        assertTrue(a.forwardBytes() <= CudaDevice.WORKSPACE_LIMIT && a.backwardBytes() <= CudaDevice.WORKSPACE_LIMIT, a.toString());
    }

    @Test
    void builtInModelsAtRealisticSizesMatchTheReference() {
        for (String model : new String[] {"lenet", "resnet-small"}) {
            Graph g = Models.byName(model);
            int b = 48;
            Random r = new Random(9);
            float[] x = new float[b * 784];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            int[] labels = new int[b];
            for (int i = 0; i < b; i++) {
                labels[i] = r.nextInt(10);
            }
            double[][] gpuOut = run(backend, DataType.FLOAT32, g, b, x, labels);
            double[][] refOut = run(new ReferenceBackend(), DataType.FLOAT64, g, b, x, labels);
            String[] what = {"output", "parameter gradients", "loss"};
            for (int k = 0; k < 3; k++) {
                double diff = 0;
                double scale = 1;
                for (int i = 0; i < refOut[k].length; i++) {
                    diff = Math.max(diff, Math.abs(gpuOut[k][i] - refOut[k][i]));
                    scale = Math.max(scale, Math.abs(refOut[k][i]));
                }
                assertTrue(diff / scale <= 1e-4, model + " " + what[k] + ": error " + diff / scale);
            }
        }
    }

    private static double[][] run(Backend be, DataType type, Graph g, int b, float[] x, int[] labels) {
        try (Parameters p = be.createParameters(g, type).initialize(3);
             Plan plan = be.plan(g, b, new PlanOptions(type, true, false));
             Executor ex = plan.bind(p)) {
            ex.input().write(x);
            ex.forward(Pass.training(1, 0));
            double[] out = ex.output().toDoubles();
            LossResult l = ex.loss(new SoftmaxCrossEntropy(), Targets.labels(labels), 1.0 / b);
            ex.backward(GradientMode.OVERWRITE);
            return new double[][] {out, p.gradients().toDoubles(), {l.sum() / b}};
        }
    }
}
