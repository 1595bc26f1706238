package io.batchwise.benchmarks;

import io.batchwise.backend.Backends;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.StepMetrics;
import io.batchwise.train.Trainer;
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
 * One optimizer step (forward, loss, backward, plain SGD lr 0.01) through {@link Trainer#trainBatch} on the
 * oneDNN backend, micro-batch = effective batch = {@code batch}, synthetic (1, 28, 28) images. Operations
 * per second are steps per second ({@link #residentStep}: the same without the per-step batch copy); samples/s = ops/s x batch (the runner prints both). Threads: oneDNN's
 * OpenMP pool, sized by OMP_NUM_THREADS in the environment of the java process (JMH forks inherit it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TrainingStepBenchmark {
    @Param({"mlp", "lenet"})
    public String model;

    @Param({"1", "32", "128", "512"})
    public int batch;

    /** {@code fp32} or {@code bf16} (mixed precision, issue 20); e.g. {@code Suites step precision=fp32,bf16 model=resnet-small}. */
    @Param({"fp32"})
    public String precision;

    private Trainer trainer;
    private InMemoryDataset data; // (batch, 1, 28, 28), labels in [0, 10)
    private ResidentBatch resident; // the same batch, written into the input tensor once
    private int[] order;

    @Setup(Level.Trial)
    public void setUp() {
        trainer = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), Optimizer.Sgd.plain(0.01), batch, batch,
                io.batchwise.backend.Precision.parse(precision));
        data = Fixtures.images(batch, 1);
        resident = new ResidentBatch(data);
        order = Fixtures.identity(batch);
    }

    @Benchmark
    public StepMetrics step() {
        return trainer.trainBatch(data, order, 0, batch);
    }

    /** The step without the batch copy (it stays in the input tensor), the work {@code DirectStepBenchmark.step} does. */
    @Benchmark
    public StepMetrics residentStep() {
        return trainer.trainBatch(resident, order, 0, batch);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        trainer.close();
    }
}
