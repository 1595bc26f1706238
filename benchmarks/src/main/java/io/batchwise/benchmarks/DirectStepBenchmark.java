package io.batchwise.benchmarks;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@link TrainingStepBenchmark}'s step without Batchwise: a hand-written {@link DirectLoop} driving oneDNN directly
 * (forward, loss gradient, backward, plain SGD lr 0.01 as one in-place {@code binary_add}), same model, batch, synthetic
 * images and initial weights. {@code step}: the batch stays resident in native memory (the ceiling); {@code stagedStep}:
 * the batch is copied from its Java array into native memory first, one bulk copy per step, as Batchwise's trainer and
 * any loop over a data set held in Java must move each batch. Operations per second are steps per second; samples/s =
 * ops/s x batch. {@code Suites step} runs these and Batchwise's and prints the ratios. Threads: OMP_NUM_THREADS, as for
 * Batchwise.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DirectStepBenchmark {
    @Param({"mlp", "lenet"})
    public String model;

    @Param({"1", "32", "128", "512"})
    public int batch;

    private DirectLoop loop;

    @Setup(Level.Trial)
    public void setUp() {
        loop = Fixtures.direct(model, Fixtures.images(batch, 1), batch, 1);
    }

    @Benchmark
    public void step() {
        loop.step();
    }

    @Benchmark
    public void stagedStep() {
        loop.stagedStep();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        loop.close();
    }
}
