package io.batchwise.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Benchmark (not a test; run by {@code benchmarks/spark-overhead.sh}): the two parts of a Spark step that
 * {@code benchmarks/spark.sh} cannot separate, measured with executors in separate JVMs ({@code local-cluster}), so
 * results cross a real process boundary (serialization, loopback, deserialization), as on a cluster:
 * <ul>
 *   <li>the driver's cost per task: jobs of N tasks that do nothing, N = 2 .. 256, median job time against N; the slope
 *       is what each further worker adds to a step (the scaling model in RESULTS.md assumed 1 ms);</li>
 *   <li>the gradient transfer: a job whose W = 2 tasks each return a float[P] (a gradient sum, P the model's
 *       parameters) against the same job returning a float[1], over the same cached partitions; the difference is
 *       moving 2 x 4P bytes from the executors to the driver.</li>
 * </ul>
 * Arguments: {@code rounds} (default 30) jobs per configuration, alternated between configurations so drift affects
 * each alike. Prints medians and quartiles in ms.
 */
public final class SparkOverhead {
    private SparkOverhead() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        Path home = Path.of(System.getenv().getOrDefault("SPARK_HOME", "target/spark-home"));
        Files.createDirectories(home.resolve("jars"));
        SparkConf conf = new SparkConf().setMaster("local-cluster[2,1,1024]").setAppName("batchwise-spark-overhead")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.executor.memory", "512m")
                .set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .set("spark.executor.extraJavaOptions", System.getProperty("spark.java.options", "").replaceAll("\\s+", " "));
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            // Both executors up before timing anything.
            sc.parallelize(List.of(0, 1, 2, 3), 4).map(i -> {
                Thread.sleep(200);
                return i;
            }).collect();

            System.out.println("== per-task cost: jobs of N empty tasks on 2 executor JVMs (collect of one int each)");
            int[] tasks = {2, 16, 64, 256};
            List<JavaRDD<Integer>> jobs = new ArrayList<>();
            for (int n : tasks) {
                List<Integer> items = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    items.add(i);
                }
                jobs.add(sc.parallelize(items, n));
            }
            double[][] jobMs = new double[tasks.length][rounds];
            for (int w = 0; w < 5; w++) { // warm-up: class loading, JIT, connections
                for (JavaRDD<Integer> j : jobs) {
                    j.map(i -> i).collect();
                }
            }
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < tasks.length; k++) {
                    long t0 = System.nanoTime();
                    jobs.get(k).map(i -> i).collect();
                    jobMs[k][r] = (System.nanoTime() - t0) / 1e6;
                }
            }
            double[] medians = new double[tasks.length];
            for (int k = 0; k < tasks.length; k++) {
                medians[k] = quantile(jobMs[k], 0.5);
                System.out.printf(Locale.ROOT, "tasks %4d  job median %7.2f ms (quartiles %.2f .. %.2f)%n", tasks[k], medians[k],
                        quantile(jobMs[k], 0.25), quantile(jobMs[k], 0.75));
            }
            System.out.printf(Locale.ROOT, "per further task: %.3f ms (least-squares slope of the medians over N = %s)%n",
                    slope(tasks, medians), Arrays.toString(tasks));

            System.out.println("== gradient transfer: 2 tasks each returning float[P] against float[1], same partitions");
            JavaRDD<Integer> two = sc.parallelize(List.of(0, 1), 2).cache();
            two.count();
            for (int p : new int[] {44_426, 235_146, 1_000_000, 4_000_000}) { // LeNet-5, the MLP, 1M and 4M parameters
                double[] full = new double[rounds];
                double[] empty = new double[rounds];
                for (int w = 0; w < 5; w++) {
                    collect(two, p);
                    collect(two, 1);
                }
                for (int r = 0; r < rounds; r++) {
                    full[r] = collect(two, p);
                    empty[r] = collect(two, 1);
                }
                double[] diff = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    diff[r] = full[r] - empty[r]; // paired per round
                }
                double ms = quantile(diff, 0.5);
                double bytes = 2.0 * 4 * p;
                System.out.printf(Locale.ROOT, "P %,9d (2 x %,.0f KB)  job %.2f ms against %.2f ms: transfer %.2f ms"
                                + " (quartiles %.2f .. %.2f), %.0f MB/s%n", p, 4.0 * p / 1000, quantile(full, 0.5),
                        quantile(empty, 0.5), ms, quantile(diff, 0.25), quantile(diff, 0.75), bytes / (ms / 1e3) / 1e6);
            }
        }
    }

    /** One job over {@code rdd}'s partitions, each task returning a float[p] (filled, so nothing compresses it away). */
    private static double collect(JavaRDD<Integer> rdd, int p) {
        long t0 = System.nanoTime();
        List<float[]> r = rdd.mapPartitions(it -> {
            float[] g = new float[p];
            for (int i = 0; i < p; i++) {
                g[i] = i * 1.0e-3f;
            }
            return List.of(g).iterator();
        }).collect();
        double ms = (System.nanoTime() - t0) / 1e6;
        if (r.size() != rdd.getNumPartitions() || r.get(0).length != p) {
            throw new IllegalStateException("unexpected result: " + r.size() + " arrays");
        }
        return ms;
    }

    private static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    private static double slope(int[] x, double[] y) {
        double mx = 0;
        double my = 0;
        for (int i = 0; i < x.length; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= x.length;
        my /= x.length;
        double num = 0;
        double den = 0;
        for (int i = 0; i < x.length; i++) {
            num += (x[i] - mx) * (y[i] - my);
            den += (x[i] - mx) * (x[i] - mx);
        }
        return num / den;
    }
}
