package io.batchwise.cli;

import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Precision;
import io.batchwise.plan.Budget;
import io.batchwise.train.AdaptiveBatch;
import io.batchwise.train.BatchNormMode;
import io.batchwise.train.BatchSize;
import io.batchwise.train.CheckpointPolicy;
import io.batchwise.train.Dataset;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Schedule;
import io.batchwise.train.Trainer;
import io.batchwise.train.TrainingListener;
import java.io.PrintWriter;

/**
 * What computes the steps of {@code batchwise train}: this process ({@link #LOCAL}, the default) or another module's
 * trainer (batchwise-spark's, for {@code --spark MASTER}). The command does everything else the same way whatever the
 * engine: it reads the flags and the data, plans, and drives the engine's {@link Trainer} (restore, epochs, evaluation,
 * checkpoints, stop requests) to write the same files. An engine only builds that trainer from the {@link Settings}
 * and runs its epochs; the CLI itself depends on no engine but its own.
 */
public interface TrainEngine {
    /**
     * What the command line asks for, resolved.
     *
     * @param model          the built-in model's name ({@code mlp}, {@code lenet}, ...), null for a {@code --layers} model
     *                       or user data
     * @param graph          the graph, built once in this JVM
     * @param backend        the backend chosen for this JVM ({@code --backend})
     * @param backendName    {@code --backend} as given ({@code auto} decides in each JVM)
     * @param microBatch     the micro-batch: {@code --micro-batch}, else the planner's for the budget
     * @param microBatchGiven whether {@code --micro-batch} gave it
     * @param budget         {@code --memory-budget}, resolved for this JVM
     * @param budgetGiven    whether {@code --memory-budget} was given (not {@code auto})
     * @param master         {@code --spark}, or null
     * @param prefetch       {@code --prefetch}
     * @param out            the {@code --out} folder (exists): an engine may write files of its own there
     * @param listener       the command's listener (metrics.csv, the progress bar, the run's totals)
     */
    record Settings(String model, Graph graph, Backend backend, String backendName, Optimizer optimizer, Schedule schedule,
                    BatchSize batch, int microBatch, boolean microBatchGiven, Budget budget, boolean budgetGiven, long seed,
                    BatchNormMode batchNorm, Precision precision, boolean measureNoiseScale, AdaptiveBatch adaptiveBatch, boolean prefetch,
                    CheckpointPolicy checkpoints, String master, java.nio.file.Path out, TrainingListener listener) {
    }

    /** A started run: its trainer (the one the command drives) and how its epochs run. */
    interface Session extends AutoCloseable {
        /** The trainer whose weights, position, checkpoints and listeners the command uses. */
        Trainer trainer();

        /** Trains on {@code train} until {@code epochs} epochs or {@code maxSteps} steps in all, as {@link Trainer#fit}. */
        void fit(Dataset train, int epochs, long maxSteps);

        /** Lines for plan.txt after the trainer's own report. */
        default String report(int n) {
            return trainer().report(n);
        }

        /** Workers computing each step, shown by the progress bar when more than one. */
        default int workers() {
            return 1;
        }

        /** Closes the trainer and what the engine started, deterministically. */
        @Override
        void close();
    }

    /**
     * A reason why this engine cannot run {@code s} naming the flag, or null: checked before the data is read (the
     * command reports it as a bad command line).
     */
    default String refuse(Settings s) {
        return null;
    }

    /** Builds the trainer for {@code s} and what it needs to train on {@code train}. */
    Session start(Settings s, Dataset train, PrintWriter out);

    /** This process: the single-process {@link Trainer}. */
    TrainEngine LOCAL = new TrainEngine() {
        @Override
        public String refuse(Settings s) {
            return s.master() == null ? null : "--spark " + s.master() + " needs batchwise-spark_2.13 and Spark on the class"
                    + " path: run it through the ./batchwise launcher, or spark-submit --class io.batchwise.spark.SparkTrain";
        }

        @Override
        public Session start(Settings s, Dataset train, PrintWriter out) {
            Trainer t = Trainer.builder(s.graph(), s.backend())
                    .loss(new io.batchwise.loss.SoftmaxCrossEntropy())
                    .optimizer(s.optimizer())
                    .schedule(s.schedule())
                    .batch(s.batch())
                    .microBatch(s.microBatch())
                    .seed(s.seed())
                    .batchNorm(s.batchNorm())
                    .precision(s.precision())
                    .measureNoiseScale(s.measureNoiseScale())
                    .reportGradientNorm(true) // a metrics.csv column
                    .adaptiveBatch(s.adaptiveBatch())
                    .checkpoints(s.checkpoints())
                    .listener(s.listener())
                    .build();
            return new Session() {
                @Override
                public Trainer trainer() {
                    return t;
                }

                @Override
                public void fit(Dataset data, int epochs, long maxSteps) {
                    t.fit(data, epochs, maxSteps);
                }

                @Override
                public void close() {
                    t.close();
                }
            };
        }
    };
}
