package io.batchwise.spark;

import io.batchwise.backend.Backends;
import io.batchwise.backend.Precision;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.plan.Budget;
import io.batchwise.train.BatchSize;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Trainer;
import java.io.Serializable;

/**
 * What an executor needs to build its worker trainer, sent with every task (a few hundred bytes).
 *
 * @param runId          this run's id: keys the executor's cache of worker trainers
 * @param graph          the graph's recipe
 * @param backend        backend name on the executors ({@code auto} decides per executor)
 * @param labelSmoothing the loss, {@link SoftmaxCrossEntropy}'s one parameter
 * @param batch          the effective batch B: a worker's share of a step is at most this
 * @param microBatch     samples per pass on a worker; 0: planned from {@code budgetBytes}
 * @param budgetBytes    memory a worker task may use for its tensors; 0 when {@code microBatch} is given
 * @param seed           the run's seed
 * @param precision      the numeric policy of the worker's passes (its gradient sums are float32 either way)
 * @param verifyEvery    compare the worker's loaded weights with the driver's checksum on steps 1, 1 + n, ...; 0: never
 * @param hook           test hook, or null
 */
record WorkerSpec(String runId, GraphFactory graph, String backend, float labelSmoothing, int batch, int microBatch,
                  long budgetBytes, long seed, Precision precision, int verifyEvery, TaskHook hook) implements Serializable {

    /**
     * A worker trainer: the same graph, loss and seed as the driver's, planned for shares of at most
     * {@code min(B, shardSize)} samples. It never updates weights (the driver does), so its optimizer is plain SGD,
     * which keeps no state.
     */
    Trainer newTrainer(int shardSize) {
        Trainer.Builder b = Trainer.builder(graph.get(), Backends.get(backend))
                .loss(new SoftmaxCrossEntropy(labelSmoothing))
                .optimizer(Optimizer.Sgd.plain(0))
                .batch(BatchSize.mini(batch))
                .seed(seed)
                .precision(precision)
                .noiseScaleDecay(-1);
        if (microBatch > 0) {
            b.microBatch(microBatch);
        } else {
            b.memoryBudget(new Budget(budgetBytes, "worker budget " + Budget.human(budgetBytes)));
        }
        Trainer t = b.build();
        try {
            t.plan(shardSize); // with a budget: the planner's micro-batch for the largest share, or its clear refusal
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }
}
