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
 * The cost of gradient accumulation: one optimizer step (plain SGD lr 0.01) of an effective batch of 512
 * as 8 micro-batches of 64 ({@code micro = 64}) or one of 512 ({@code micro = 512}). The runner reports
 * time(8 x 64) / time(1 x 512); issue target: within 5%, i.e. at most 1.05.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class AccumulationBenchmark {
    static final int EFFECTIVE_BATCH = 512;

    @Param({"mlp", "lenet"})
    public String model;

    @Param({"64", "512"})
    public int micro;

    private Trainer trainer;
    private InMemoryDataset data; // (512, 1, 28, 28)
    private int[] order;

    @Setup(Level.Trial)
    public void setUp() {
        trainer = Fixtures.trainer(Fixtures.model(model), Backends.get("onednn"), Optimizer.Sgd.plain(0.01), EFFECTIVE_BATCH, micro);
        data = Fixtures.images(EFFECTIVE_BATCH, 1);
        order = Fixtures.identity(EFFECTIVE_BATCH);
    }

    @Benchmark
    public StepMetrics step() {
        return trainer.trainBatch(data, order, 0, EFFECTIVE_BATCH);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        trainer.close();
    }
}
