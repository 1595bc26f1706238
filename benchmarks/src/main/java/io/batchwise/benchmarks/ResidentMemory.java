package io.batchwise.benchmarks;

import io.batchwise.backend.Backends;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.Pointer;

/**
 * Resident memory of a long stochastic run: trains {@code model} with {@link BatchSize#stochastic()} (one
 * sample per step, micro-batch 1) on the oneDNN backend for {@code steps} steps and reads the process's
 * resident size ({@code VmRSS}) after a warm-up and at four points after it. Growth after the warm-up is what
 * leaks: native memory not freed, or anything retained per step.
 *
 * <pre>
 * OMP_NUM_THREADS=1 java -Xms64m -Xmx64m -XX:+AlwaysPreTouch -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 \
 *     -cp benchmarks/target/benchmarks.jar io.batchwise.benchmarks.ResidentMemory [steps] [model]
 * </pre>
 *
 * Run it with {@code -Xms} = {@code -Xmx} and {@code -XX:+AlwaysPreTouch}: the whole heap is then resident from the
 * start, so the heap's growth does not count (it warns otherwise), and with a small heap, so that 1% of the resident
 * size is a small number of bytes. Defaults: 1,000,000 steps of {@code mlp} (784-256-128-10) with AdamW (the
 * command-line trainer's optimizer) and the gradient norm on (as the trainer computes it for {@code metrics.csv}),
 * 1,000 synthetic 28x28 images (an epoch per 1,000 steps, shuffled), and an evaluation of 100 images at every
 * reading. The warm-up is 5% of the steps, at least 20,000 (or all of them): methods run once per step reach
 * C2 (HotSpot's second tier) between steps 5,000 and 15,000, and compiling them grows the resident size by up to
 * 5 MiB until then, and by about 200 KiB more up to step 40,000 (measured: 2 vCPUs, JDK 17).
 *
 * <p>Output: a line per reading, then one result line
 * {@code resident memory: steps N (...), VmRSS warm-up (W steps) A KiB, end B KiB, growth G% (D KiB, ...), ...};
 * exit status 1 when the growth is not below {@value #LIMIT_PERCENT}%. {@code benchmarks/reliability/memory.sh} runs it.
 */
public final class ResidentMemory {
    /** The bound on growth after the warm-up, in percent of the resident size then: exit status 1 above it. */
    static final double LIMIT_PERCENT = 1;

    private ResidentMemory() {
    }

    /** One reading: after {@code step} steps, VmRSS and JavaCPP's live native bytes and objects. */
    record Reading(long step, long rssKiB, long javacppBytes, long javacppObjects) {
        static Reading now(long step) {
            return new Reading(step, vmRssKiB(), Pointer.totalBytes(), Pointer.totalCount());
        }

        @Override
        public String toString() {
            return String.format("step %,d: VmRSS %,d KiB, JavaCPP %,d bytes in %,d objects", step, rssKiB, javacppBytes,
                    javacppObjects);
        }
    }

    public static void main(String[] args) {
        long steps = args.length > 0 ? Long.parseLong(args[0].replace("_", "").replace(",", "")) : 1_000_000;
        String model = args.length > 1 ? args[1] : "mlp";
        long warmUp = Math.min(steps, Math.max(20_000, steps / 20));
        long heap = Runtime.getRuntime().maxMemory();
        var flags = ManagementFactory.getRuntimeMXBean().getInputArguments();
        boolean pretouched = flags.contains("-XX:+AlwaysPreTouch") && Runtime.getRuntime().totalMemory() == heap;
        if (!pretouched) {
            System.out.println("warning: run with -Xms = -Xmx and -XX:+AlwaysPreTouch, or the heap's growth counts");
        }
        InMemoryDataset train = Fixtures.images(1_000, 1);
        InMemoryDataset test = Fixtures.images(100, 2);
        long t0 = System.nanoTime();
        Reading first;
        Reading last;
        try (Trainer t = Trainer.builder(Fixtures.model(model), Backends.get("onednn"))
                .loss(new SoftmaxCrossEntropy())
                .optimizer(Optimizer.AdamW.of(1e-3))
                .batch(BatchSize.stochastic())
                .microBatch(1)
                .reportGradientNorm(true)
                .seed(Fixtures.TRAINER_SEED)
                .build()) {
            first = trainTo(t, train, test, warmUp);
            System.out.println("warm-up " + first);
            last = first;
            for (int q = 1; q <= 4; q++) {
                last = trainTo(t, train, test, warmUp + (steps - warmUp) * q / 4);
                System.out.println("        " + last);
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long grown = last.rssKiB - first.rssKiB;
        double percent = 100.0 * grown / first.rssKiB;
        System.out.printf("resident memory: steps %,d (%s, batch 1, onednn, OMP_NUM_THREADS=%s), VmRSS warm-up (%,d steps)"
                        + " %,d KiB, end %,d KiB, growth %+.3f%% (%+,d KiB, %.3f bytes/step), JavaCPP objects %,d -> %,d,"
                        + " heap %d MiB%s, %.1f s%n",
                steps, model, System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"), first.step, first.rssKiB, last.rssKiB,
                percent, grown, last.step == first.step ? 0.0 : 1024.0 * grown / (last.step - first.step),
                first.javacppObjects, last.javacppObjects, heap >> 20, pretouched ? " pre-touched" : " NOT pre-touched", seconds);
        if (percent >= LIMIT_PERCENT) {
            System.out.printf("resident memory grew by %.3f%%, not below %.0f%%%n", percent, LIMIT_PERCENT);
            System.exit(1);
        }
    }

    /** Trains until {@code step} steps are done (epochs as needed), evaluates, and reads the memory. */
    private static Reading trainTo(Trainer t, InMemoryDataset train, InMemoryDataset test, long step) {
        t.fit(train, Integer.MAX_VALUE, step);
        t.evaluate(test);
        return Reading.now(t.step());
    }

    /** The process's resident set size, from /proc/self/status. */
    static long vmRssKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status (Linux only)");
    }
}
