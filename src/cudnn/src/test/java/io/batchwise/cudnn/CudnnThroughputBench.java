package io.batchwise.cudnn;

import io.batchwise.backend.Precision;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.models.Models;
import io.batchwise.onednn.OneDnnBackend;
import io.batchwise.train.BatchSize;
import io.batchwise.train.InMemoryDataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Training throughput (samples per second of whole trainer steps: input upload, forward, loss,
 * backward, SGD update) of LeNet-5 and resnet-small at several batch sizes, on the cudnn backend and
 * on oneDNN on the same machine's CPU; on the GPU in float32 and in bf16 mixed precision ({@code cudnn-bf16}).
 * Run by src/cudnn/gpu-suite.sh:
 * {@code java -cp ... io.batchwise.cudnn.CudnnThroughputBench [results.md]}. Each point: warm-up
 * steps, then the median of 5 timed rounds; prints a Markdown table (and writes it to the file).
 * {@code -Dbatchwise.bench.runs=lenet:32,128;resnet-small:64} and {@code -Dbatchwise.bench.backends=onednn}
 * (of {@code cudnn,cudnn-bf16,onednn})
 * narrow it (oneDNN alone checks the harness on a machine without a GPU).
 */
public final class CudnnThroughputBench {
    private CudnnThroughputBench() {
    }

    record Point(String model, String backend, int batch, double samplesPerSecond, double msPerStep, double spread) {
    }

    /** One column of the table: its label, the backend and the precision it trains in. */
    record Side(String label, Backend backend, Precision precision) {
    }

    public static void main(String[] args) throws IOException {
        // -Dbatchwise.bench.runs=model:b,b;model:b  -Dbatchwise.bench.backends=cudnn,onednn (onednn alone checks the harness)
        String runs = System.getProperty("batchwise.bench.runs", "lenet:32,128,512,2048;resnet-small:32,128,512");
        List<String> names = List.of(System.getProperty("batchwise.bench.backends", "cudnn,cudnn-bf16,onednn").split(","));
        Backend gpu = new CudnnBackend();
        Backend cpu = new OneDnnBackend();
        if ((names.contains("cudnn") || names.contains("cudnn-bf16")) && !gpu.availability().available()) {
            System.out.println("cudnn unavailable: " + gpu.availability().reason());
            System.exit(2);
        }
        List<Side> backends = new ArrayList<>(); // in table order
        for (Side b : List.of(new Side("cudnn", gpu, Precision.FLOAT32), new Side("cudnn-bf16", gpu, Precision.BF16_MIXED),
                new Side("onednn", cpu, Precision.FLOAT32))) {
            if (names.contains(b.label())) {
                backends.add(b);
            }
        }
        List<Point> points = new ArrayList<>();
        for (String run : runs.split(";")) {
            String[] mb = run.split(":");
            for (String b : mb[1].split(",")) {
                int batch = Integer.parseInt(b.trim());
                for (Side be : backends) {
                    Point p = measure(be, mb[0].trim(), batch);
                    points.add(p);
                    System.out.printf("%-13s %-7s b=%-5d %,12.0f samples/s %9.3f ms/step (rounds within %.0f%%)%n", p.model(),
                            p.backend(), p.batch(), p.samplesPerSecond(), p.msPerStep(), 100 * p.spread());
                }
            }
        }
        String table = table(points, names.contains("cudnn") || names.contains("cudnn-bf16") ? gpu.availability().reason()
                : "not measured",
                cpu.availability().reason());
        System.out.println(table);
        if (args.length > 0) {
            Files.writeString(Path.of(args[0]), table);
        }
    }

    static Point measure(Side side, String model, int batch) {
        Backend backend = side.backend();
        Graph g = Models.byName(model);
        Random r = new Random(1);
        int n = batch * 4;
        float[] x = new float[n * 784];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(10);
        }
        InMemoryDataset data = InMemoryDataset.labelled(x, Shape.of(1, 28, 28), y);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // Enough steps per round for about 2 x 10^4 samples (fewer for the CPU's larger models), at least 3.
        int steps = Math.max(3, (backend.name().equals("cudnn") ? 20_000 : 4_000) / batch / (model.equals("lenet") ? 1 : 4));
        try (Trainer t = Trainer.builder(g, backend).loss(new SoftmaxCrossEntropy()).optimizer(Optimizer.Sgd.plain(0.01))
                .batch(BatchSize.mini(batch)).microBatch(batch).seed(1).precision(side.precision()).build()) {
            for (int s = 0; s < Math.max(3, steps / 4); s++) {
                t.trainBatch(data, order, (s % 4) * batch, batch);
            }
            double[] rounds = new double[5];
            for (int round = 0; round < rounds.length; round++) {
                long t0 = System.nanoTime();
                for (int s = 0; s < steps; s++) {
                    t.trainBatch(data, order, (s % 4) * batch, batch);
                }
                rounds[round] = (System.nanoTime() - t0) / 1e9 / steps;
            }
            Arrays.sort(rounds);
            double median = rounds[rounds.length / 2];
            return new Point(model, side.label(), batch, batch / median, 1000 * median,
                    (rounds[rounds.length - 1] - rounds[0]) / median);
        }
    }

    private static String rate(Point p) {
        return p == null ? "-" : String.format("%,.0f", p.samplesPerSecond());
    }

    private static String ratio(Point a, Point b) {
        return a == null || b == null ? "-" : String.format("%.2fx", a.samplesPerSecond() / b.samplesPerSecond());
    }

    private static Point find(List<Point> points, Point like, String backend) {
        return points.stream().filter(q -> q.model().equals(like.model()) && q.batch() == like.batch()
                && q.backend().equals(backend)).findFirst().orElse(null);
    }

    static String table(List<Point> points, String gpu, String cpu) {
        StringBuilder sb = new StringBuilder();
        sb.append("GPU: ").append(gpu).append("\n\nCPU: ").append(cpu).append(", ")
                .append(Runtime.getRuntime().availableProcessors()).append(" processors\n\n");
        sb.append("| model | batch | cudnn samples/s | cudnn bf16 samples/s | bf16 / fp32 | onednn samples/s | cudnn / onednn |\n"
                + "|---|---:|---:|---:|---:|---:|---:|\n");
        for (Point p : points) {
            Point g = find(points, p, "cudnn");
            Point h = find(points, p, "cudnn-bf16");
            Point c = find(points, p, "onednn");
            if (p != (g != null ? g : h != null ? h : c)) {
                continue; // one row per model and batch
            }
            sb.append(String.format("| %s | %d | %s | %s | %s | %s | %s |%n", p.model(), p.batch(), rate(g), rate(h), ratio(h, g),
                    rate(c), ratio(g, c)));
        }
        return sb.toString();
    }
}
