package io.batchwise.spark;

import io.batchwise.backend.Parameters;
import io.batchwise.spi.StepGradients;
import io.batchwise.train.Trainer;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;

/**
 * The worker trainers of this JVM (an executor, or the driver in local mode), one per (run, partition), kept
 * between steps so that plans, executors and parameter buffers are made once. A task locks its partition's worker
 * while it uses it. {@link #close(String)} closes a run's workers (the trainer's cleanup job calls it on every
 * partition); a worker whose partition moved to another executor stays until that JVM ends.
 */
final class Workers {
    private static final Map<String, Trainer> TRAINERS = new ConcurrentHashMap<>();

    private Workers() {
    }

    /**
     * Computes partition {@code shard}'s share of the step in {@code msg}: loads the driver's weights and state, checks
     * them against the driver's checksum when asked, sums the gradients of the shard's samples of the step. Null when
     * the shard holds none of them.
     */
    static WorkerResult run(WorkerSpec spec, StepMessage msg, Shard shard, int attempt) {
        Shard.Share share = shard.share(msg.batch());
        int[] local = share.local();
        if (local.length == 0) {
            return null;
        }
        try {
            Trainer t = TRAINERS.computeIfAbsent(spec.runId() + "/" + shard.partition, k -> spec.newTrainer(shard.size()));
            synchronized (t) {
                long t0 = System.nanoTime();
                Parameters p = t.parameters();
                p.writeLogicalValues(msg.values());
                if (msg.state().length > 0) {
                    p.state().write(msg.state());
                }
                if (spec.hook() != null) {
                    spec.hook().afterLoad(msg.step(), shard.partition, attempt, p);
                }
                if (msg.checksum() != null) {
                    verify(msg, p, shard.partition);
                }
                long t1 = System.nanoTime();
                // The same micro-batch loop as one process runs; the first pass overwrites the gradients. Dropout masks are
                // keyed by each sample's position in the whole batch, as in one process.
                StepGradients g = t.gradientSum(shard.dataset(), local, 0, local.length, msg.scale(), msg.dropoutSeed(),
                        share.positions());
                long t2 = System.nanoTime();
                float[] state = msg.state().length > 0 ? p.state().toArray() : new float[0];
                if (spec.hook() != null) {
                    spec.hook().afterGradients(msg.step(), shard.partition, attempt);
                }
                return new WorkerResult(shard.partition, local.length, p.logicalGradients(), state, g.loss().sum(),
                        g.loss().terms(), g.loss().correct(), g.passes(), t1 - t0, t2 - t1);
            }
        } catch (RuntimeException e) {
            throw new WorkerException("step " + msg.step() + ", partition " + shard.partition + " (" + executor() + ", "
                    + local.length + " samples): " + e.getMessage(), e);
        }
    }

    /** The weights this worker now holds, read back through its storage order, must be the driver's bit for bit. */
    private static void verify(StepMessage msg, Parameters p, int partition) {
        float[] state = msg.state().length > 0 ? p.state().toArray() : new float[0];
        long mine = StepMessage.checksum(p.logicalValues(), state);
        if (mine != msg.checksum()) {
            throw new IllegalStateException(String.format("replicas diverged at step %d: partition %d holds weights with"
                    + " checksum %016x, the driver's are %016x", msg.step(), partition, mine, msg.checksum()));
        }
    }

    /** Closes the worker trainers of {@code runId} in this JVM; returns how many. */
    static int close(String runId) {
        int n = 0;
        for (Iterator<Map.Entry<String, Trainer>> it = TRAINERS.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Trainer> e = it.next();
            if (e.getKey().startsWith(runId + "/")) {
                it.remove();
                synchronized (e.getValue()) {
                    e.getValue().close();
                }
                n++;
            }
        }
        return n;
    }

    /** Worker trainers of {@code runId} open in this JVM. */
    static int open(String runId) {
        return (int) TRAINERS.keySet().stream().filter(k -> k.startsWith(runId + "/")).count();
    }

    private static String executor() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "no executor" : "executor " + env.executorId();
    }

    /** A worker task's failure, its message naming the step, the partition and the executor. */
    static final class WorkerException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        WorkerException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
