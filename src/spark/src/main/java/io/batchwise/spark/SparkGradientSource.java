package io.batchwise.spark;

import io.batchwise.backend.Parameters;
import io.batchwise.loss.LossResult;
import io.batchwise.spi.GradientSource;
import io.batchwise.spi.StepGradients;
import io.batchwise.spi.StepRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;

/**
 * A step's gradients from the Spark executors: one job per optimizer step over the cached shards. The driver
 * broadcasts its weights (logical order) and the step's sample indices; every task sums the gradients of its shard's
 * samples of the step; the driver adds the sums in partition order and writes them into its trainer's gradients.
 *
 * <p>Exactness: each worker's sum already carries the step's scale {@code 1 / (B x terms)}, so the sum of the sums is
 * the batch's mean gradient, as in one process, up to float32 summation order. Determinism: the driver adds in
 * partition order (a double accumulator per element), so a retried task or a resumed run gives the same bits.
 * BatchNorm running statistics: each worker updates the driver's from its own micro-batches; the driver keeps their
 * average weighted by the workers' sample counts (ghost statistics, an approximation of the sequential update).
 */
final class SparkGradientSource implements GradientSource {
    private final JavaSparkContext sc;
    private SparkData data; // set by bind before each fit
    private WorkerSpec spec;
    private final Timings timings = new Timings();

    SparkGradientSource(JavaSparkContext sc) {
        this.sc = sc;
    }

    /** The data and worker settings of the next steps. */
    void bind(SparkData data, WorkerSpec spec) {
        this.data = data;
        this.spec = spec;
    }

    /** Where the last step's time went on the driver, in nanoseconds. */
    static final class Timings {
        long broadcast; // reading the weights, broadcasting them
        long job;       // the job: scheduling, tasks (the gradient computation), results back
        long combine;   // adding the workers' sums, writing gradients and state
        int workers;    // tasks that returned a share
        long workerBusy;    // the slowest worker's load + compute: the job's critical path inside the tasks
        long workerLoad;    // that worker's loading of the weights
        long workerCompute; // that worker's gradient sum
    }

    Timings timings() {
        return timings;
    }

    @Override
    public StepGradients accumulate(StepRequest r, Parameters parameters) {
        long t0 = System.nanoTime();
        float[] values = parameters.logicalValues();
        boolean hasState = parameters.layout().stateSize() > 0;
        float[] state = hasState ? parameters.state().toArray() : new float[0];
        boolean verify = spec.verifyEvery() > 0 && (r.step() - 1) % spec.verifyEvery() == 0;
        StepMessage msg = new StepMessage(r.step(), Arrays.copyOfRange(r.order(), r.from(), r.from() + r.count()), r.scale(),
                r.dropoutSeed(), values, state, verify ? StepMessage.checksum(values, state) : null);
        Broadcast<StepMessage> bc = sc.broadcast(msg);
        long t1 = System.nanoTime();
        List<WorkerResult> results;
        try {
            results = new ArrayList<>(data.shards().mapPartitions(new StepTask(spec, bc)).collect());
        } catch (Exception e) { // SparkException, checked to Java: a task failed more often than Spark retries
            throw SparkTrainer.workerFailure("step " + r.step() + " failed on the workers", e);
        } finally {
            bc.destroy();
        }
        long t2 = System.nanoTime();
        results.sort(Comparator.comparingInt(WorkerResult::partition));
        int samples = 0;
        for (WorkerResult w : results) {
            samples += w.samples();
        }
        if (samples != r.count()) {
            throw new IllegalStateException("step " + r.step() + ": the workers computed " + samples + " of the step's "
                    + r.count() + " samples; the shards do not hold the data the trainer was given");
        }
        // (P) sum of the workers' sums, in partition order.
        double[] sum = new double[values.length];
        double[] stateSum = new double[state.length];
        LossResult loss = LossResult.ZERO;
        int passes = 0;
        long busy = 0;
        long load = 0;
        long compute = 0;
        for (WorkerResult w : results) {
            if (w.loadNanos() + w.computeNanos() > busy) {
                busy = w.loadNanos() + w.computeNanos();
                load = w.loadNanos();
                compute = w.computeNanos();
            }
            float[] g = w.gradient();
            for (int i = 0; i < sum.length; i++) {
                sum[i] += g[i];
            }
            for (int i = 0; i < stateSum.length; i++) {
                stateSum[i] += (double) w.samples() * w.state()[i];
            }
            loss = loss.plus(w.loss());
            passes += w.passes();
        }
        float[] gradient = new float[sum.length];
        for (int i = 0; i < sum.length; i++) {
            gradient[i] = (float) sum[i];
        }
        parameters.gradients().write(parameters.toStored(gradient));
        if (hasState) {
            float[] s = new float[stateSum.length];
            for (int i = 0; i < s.length; i++) {
                s[i] = (float) (stateSum[i] / samples);
            }
            parameters.state().write(s);
        }
        long t3 = System.nanoTime();
        timings.broadcast = t1 - t0;
        timings.job = t2 - t1;
        timings.combine = t3 - t2;
        timings.workers = results.size();
        timings.workerBusy = busy;
        timings.workerLoad = load;
        timings.workerCompute = compute;
        return new StepGradients(loss, passes);
    }

    /** The task of a step: its partition's share, or nothing when the shard holds none of the step's samples. */
    private static final class StepTask implements FlatMapFunction<Iterator<Shard>, WorkerResult> {
        private static final long serialVersionUID = 1L;
        private final WorkerSpec spec;
        private final Broadcast<StepMessage> message;

        StepTask(WorkerSpec spec, Broadcast<StepMessage> message) {
            this.spec = spec;
            this.message = message;
        }

        @Override
        public Iterator<WorkerResult> call(Iterator<Shard> shards) {
            List<WorkerResult> out = new ArrayList<>(1);
            int attempt = TaskContext.get().attemptNumber();
            while (shards.hasNext()) { // one shard per partition
                WorkerResult w = Workers.run(spec, message.value(), shards.next(), attempt);
                if (w != null) {
                    out.add(w);
                }
            }
            return out.iterator();
        }
    }
}
