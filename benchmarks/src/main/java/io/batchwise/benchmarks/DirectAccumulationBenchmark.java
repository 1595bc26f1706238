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
 * {@link AccumulationBenchmark}'s step without Batchwise: one optimizer step of an effective batch of 512 through the
 * hand-written {@link DirectLoop}, as 8 micro-batches of 64 ({@code micro = 64}, gradients accumulated in place) or
 * one of 512 ({@code micro = 512}). {@code Suites accumulation} prints time(8 x 64) / time(1 x 512) for both.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class DirectAccumulationBenchmark {
    @Param({"mlp", "lenet"})
    public String model;

    @Param({"64", "512"})
    public int micro;

    private DirectLoop loop;

    @Setup(Level.Trial)
    public void setUp() {
        loop = Fixtures.direct(model, Fixtures.images(AccumulationBenchmark.EFFECTIVE_BATCH, 1), micro,
                AccumulationBenchmark.EFFECTIVE_BATCH / micro);
    }

    @Benchmark
    public void step() {
        loop.step();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        loop.close();
    }
}
