package io.batchwise.benchmarks;

import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Tensor;
import io.batchwise.backend.VectorOps;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.NoiseScale;
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
 * The cost of measuring the gradient noise scale (issue 7 target: at most 2% of step time), on oneDNN,
 * synthetic (1, 28, 28) images, plain SGD lr 0.01, an effective batch of 512.
 *
 * <ul>
 * <li>{@link #step}: one optimizer step with the measurement {@code off} (noiseScaleDecay -1) or {@code on}.
 *     With {@code micro = 64} (k = 8) "on" adds what the estimator costs inside a step: after the first
 *     micro-batch one more pass over the gradient buffer for its squared norm (Updater.loadGradients) and
 *     {@link NoiseScale#add}. With {@code micro = 512} (k = 1) "on" is the opt-in measurement of single-pass
 *     steps ({@code Trainer.Builder.measureNoiseScale}): the step runs as 2 x 256, so the difference is the
 *     price of the split, not of the estimator.</li>
 * <li>{@link Extra#normPass}: that extra work alone, as the trainer does it (Updater.loadGradients: the
 *     backend's {@code VectorOps.sumOfSquares} over the gradient tensor, where it lives; then one
 *     {@link NoiseScale#add}), to set against the step time.</li>
 * </ul>
 * Run: {@code java -jar benchmarks/target/benchmarks.jar NoiseScaleBenchmark -f 2 -wi 3 -i 5 -w 1 -r 1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class NoiseScaleBenchmark {
    static final int EFFECTIVE_BATCH = 512;

    @Param({"mlp", "lenet"})
    public String model;

    @Param({"64", "512"})
    public int micro;

    @Param({"off", "on"})
    public String noise;

    private Trainer trainer;
    private InMemoryDataset data;
    private int[] order;

    @Setup(Level.Trial)
    public void setUp() {
        boolean on = noise.equals("on");
        trainer = Trainer.builder(Fixtures.model(model), Backends.get("onednn"))
                .loss(new SoftmaxCrossEntropy())
                .optimizer(Optimizer.Sgd.plain(0.01))
                .batch(BatchSize.mini(EFFECTIVE_BATCH))
                .microBatch(micro)
                .shuffle(false)
                .seed(7)
                .noiseScaleDecay(on ? 0.95 : -1)
                .measureNoiseScale(on)
                .build();
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

    /** The estimator's extra work per step, alone: one pass over the gradient buffer and one {@link NoiseScale#add}. */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public static class Extra {
        @Param({"mlp", "lenet"})
        public String model;

        private Trainer trainer;
        private Tensor gradients;
        private VectorOps ops;
        private final NoiseScale estimator = new NoiseScale(0.95);

        @Setup(Level.Trial)
        public void setUp() {
            Backend backend = Backends.get("onednn");
            ops = backend.vectors();
            trainer = Trainer.builder(Fixtures.model(model), backend)
                    .loss(new SoftmaxCrossEntropy())
                    .optimizer(Optimizer.Sgd.plain(0.01))
                    .batch(BatchSize.mini(64))
                    .microBatch(64)
                    .seed(7)
                    .build();
            InMemoryDataset d = Fixtures.images(64, 1);
            trainer.trainBatch(d, Fixtures.identity(64), 0, 64); // real gradients in the buffer
            gradients = trainer.parameters().gradients();
        }

        /** What Updater.loadGradients does for the first micro-batch (the squared norm in the backend), then the estimator. */
        @Benchmark
        public double normPass() {
            double sum = ops.sumOfSquares(gradients);
            estimator.add(sum * 64, 64, sum, 512);
            return estimator.simple();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            trainer.close();
        }
    }
}
