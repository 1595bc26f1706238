package io.batchwise.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Graph;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
import io.batchwise.models.Models;
import io.batchwise.train.InMemoryDataset;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * W workers with micro-batch b equal one process with the same effective batch B, to float32 summation order:
 * MLP and LeNet-5, Adam, 20 steps over more than one epoch (a reshuffle), uneven shares.
 */
class EquivalenceTest {

    @ParameterizedTest(name = "{0}: n {1}, W {2}, B {3}, b {4}")
    @CsvSource({
        // n = 200, B = 32: six full steps and a short last one of 8 per epoch.
        "mlp,   200, 2, 32, 8",
        // B = 25 not divisible by W x b = 12; n = 210: a short last step of 10.
        "mlp,   210, 3, 25, 4",
        "lenet, 150, 2, 24, 8",
        // B = 20, W x b = 9; n = 150: a short last step of 10.
        "lenet, 150, 3, 20, 3",
    })
    void sparkEqualsOneProcess(String model, int n, int workers, int batch, int micro) {
        InMemoryDataset data = LocalSpark.data(n, 11);
        Graph graph = Models.byName(model);
        int steps = 20;
        // One process, the same micro-batch; and one process taking each effective batch in a single pass.
        float[] accumulated = LocalSpark.singleProcess(graph, data, batch, micro, steps);
        float[] onePass = LocalSpark.singleProcess(graph, data, batch, batch, steps);
        float[] initial;
        float[] spark;
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, workers);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), factory(model), batch, micro).build()) {
            initial = t.parameters().logicalValues();
            t.fit(sd, Integer.MAX_VALUE, steps);
            assertEquals(steps, t.step());
            spark = t.parameters().logicalValues();
        } finally {
            sd.unpersist();
        }
        assertEquals(workers, sd.partitions());
        double moved = LocalSpark.relativeDistance(spark, initial);
        assertTrue(moved > 1e-3, "training moved the weights by " + moved);
        double d1 = LocalSpark.relativeDistance(spark, accumulated);
        double d2 = LocalSpark.relativeDistance(spark, onePass);
        System.out.printf("%s W=%d B=%d b=%d: moved %.3g, vs one process (b=%d) %.3g, vs one pass %.3g%n", model, workers,
                batch, micro, moved, micro, d1, d2);
        assertTrue(d1 <= 1e-5, "Spark vs one process with micro-batch " + micro + ": relative distance " + d1);
        assertTrue(d2 <= 1e-5, "Spark vs one process in one pass: relative distance " + d2);
    }

    /** Skips where oneDNN refuses bf16 (a CPU without native bf16: the refusal is UnsupportedOperationException). */
    private static void assumeNativeBf16() {
        try (Plan p = Backends.get("onednn").plan(Models.mlp(), 1, PlanOptions.forTraining().withPrecision(Precision.BF16_MIXED))) {
            p.memory();
        } catch (UnsupportedOperationException e) {
            Assumptions.abort(e.getMessage());
        }
    }

    /**
     * bf16 mixed precision on the workers: W = 2 equals one bf16 process to float32 summation order (the same 1e-5 as
     * in float32; measured 4e-9 to 7e-9: each sample's bf16 activations do not depend on the split), while a float32
     * process is over 1e-3 away (1.1e-2 to 1.4e-2 measured), so the workers did compute in bf16.
     */
    @ParameterizedTest(name = "{0} in bf16: n {1}, W {2}, B {3}, b {4}")
    @CsvSource({"mlp, 200, 2, 32, 8", "lenet, 150, 2, 24, 8"})
    void sparkEqualsOneProcessInBf16(String model, int n, int workers, int batch, int micro) {
        assumeNativeBf16();
        InMemoryDataset data = LocalSpark.data(n, 11);
        Graph graph = Models.byName(model);
        int steps = 10;
        float[] bf16 = LocalSpark.singleProcess(graph, data, batch, micro, steps, Precision.BF16_MIXED);
        float[] fp32 = LocalSpark.singleProcess(graph, data, batch, micro, steps);
        float[] initial;
        float[] spark;
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, workers);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), factory(model), batch, micro)
                .precision(Precision.BF16_MIXED).build()) {
            assertTrue(t.trainer().report(n).contains("precision: bf16"), t.trainer().report(n)); // the driver's report
            initial = t.parameters().logicalValues();
            t.fit(sd, Integer.MAX_VALUE, steps);
            spark = t.parameters().logicalValues();
        } finally {
            sd.unpersist();
        }
        double moved = LocalSpark.relativeDistance(spark, initial);
        double toBf16 = LocalSpark.relativeDistance(spark, bf16);
        double toFp32 = LocalSpark.relativeDistance(spark, fp32);
        System.out.printf("%s bf16 W=%d: moved %.3g, vs one bf16 process %.3g, vs one fp32 process %.3g%n", model, workers,
                moved, toBf16, toFp32);
        assertTrue(moved > 1e-3, "training moved the weights by " + moved);
        assertTrue(toBf16 <= 1e-5, "vs one bf16 process: relative distance " + toBf16);
        assertTrue(toFp32 > 1e-3, "vs one float32 process " + toFp32 + ": the workers did not compute in bf16");
    }

    @Test
    void partitionsWithoutSamplesInAStepSitItOut() {
        // B = 2 over W = 4 partitions: every step leaves at least two partitions without a sample.
        InMemoryDataset data = LocalSpark.data(30, 13);
        float[] one = LocalSpark.singleProcess(Models.mlp(), data, 2, 1, 20);
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, 4);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::mlp, 2, 1).build()) {
            double[] ms = new double[4];
            for (int s = 1; s <= 20; s++) {
                t.fit(sd, Integer.MAX_VALUE, s);
                SparkTrainer.StepTimes last = t.lastStepTimes();
                assertTrue(last.workers() >= 1 && last.workers() <= 2, "step " + s + ": " + last.workers() + " workers returned a share");
                assertTrue(last.overhead() >= 0 && last.overhead() <= last.job() && last.workerCompute() > 0, last.toString());
                if (s > 10) { // after warm-up
                    double[] v = {last.broadcast(), last.job(), last.overhead(), last.combine()};
                    for (int i = 0; i < 4; i++) {
                        ms[i] += v[i] / 10;
                    }
                }
            }
            // Steps of 2 samples: the job is nearly all overhead (scheduling 4 tasks, 2 x 941 KB of results).
            System.out.printf("MLP, W=4, B=2: per step %.2f ms broadcast, %.2f ms job (%.2f ms of it outside the workers'"
                    + " load and compute), %.2f ms combine%n", ms[0], ms[1], ms[2], ms[3]);
            double d = LocalSpark.relativeDistance(t.parameters().logicalValues(), one);
            assertTrue(d <= 1e-5, "relative distance " + d);
        } finally {
            sd.unpersist();
        }
    }

    @Test
    void weightsTravelInLogicalOrderBetweenBackendsOfOtherLayouts() {
        // The driver on the reference backend (every parameter in logical order), the workers on oneDNN (convolution
        // and inner-product weights in its kernels' blocked layouts): only logical order makes them agree.
        int reordered = Backends.get("onednn").parameterOrders(Models.lenet()).size();
        InMemoryDataset data = LocalSpark.data(60, 17);
        float[] one = LocalSpark.singleProcess(Models.lenet(), data, 12, 4, 10);
        SparkData sd = SparkData.parallelize(LocalSpark.context(), data, 2);
        try (SparkTrainer t = LocalSpark.spark(LocalSpark.context(), Models::lenet, 12, 4).driverBackend("reference").build()) {
            t.fit(sd, Integer.MAX_VALUE, 10);
            double d = LocalSpark.relativeDistance(t.parameters().logicalValues(), one);
            System.out.printf("lenet, driver reference, workers onednn (%d parameters reordered): vs one process %.3g%n",
                    reordered, d);
            assertTrue(d <= 1e-5, "relative distance " + d);
        } finally {
            sd.unpersist();
        }
    }

    private static GraphFactory factory(String model) {
        return model.equals("mlp") ? Models::mlp : Models::lenet;
    }
}
