package io.batchwise.peers.dl4j;

import io.batchwise.peers.FashionMnist;
import io.batchwise.peers.Options;
import io.batchwise.peers.TimeToAccuracy;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * Batchwise's main job in Deeplearning4j's usual loop: per epoch {@code MultiLayerNetwork.fit(iterator)} over a
 * {@link DataSetIterator} of shuffled batches of 32, then {@code net.evaluate(testIterator)} ({@code Evaluation})
 * on the test set. The model of {@link Dl4jPeer} (Glorot-uniform weights, zero biases, softmax + multi-class
 * cross-entropy, mean over the batch), seed {@code seed}.
 *
 * <p>Optimizer: DL4J 1.0.0-M2.1 has no AdamW updater, so this is its {@code Adam} (betas 0.9/0.999, eps 1e-8)
 * plus its decoupled {@code WeightDecay} regularization with {@code applyLR = true} on weights and biases:
 * applied after the updater, {@code update = adam(g) + lr x weight_decay x w}, which is AdamW's
 * {@code w -= lr (adam(g) + weight_decay w)}. The learning rate is an {@link ISchedule} evaluated at DL4J's
 * iteration count (one per minibatch): {@code lr x} the warm-up + cosine factor, per step.
 *
 * <pre>
 * OMP_NUM_THREADS=2 java -cp peer-dl4j.jar io.batchwise.peers.dl4j.Dl4jTimeToAccuracy model=lenet threads=2
 * </pre>
 */
public final class Dl4jTimeToAccuracy {
    private Dl4jTimeToAccuracy() {
    }

    public static void main(String[] args) {
        Options o = TimeToAccuracy.options(args, Map.of());
        var keys = Dl4jPeer.setThreads(o);
        long seed = o.integer("seed");

        // Data loading (not timed): both sets standardized as Batchwise does, each one array.
        Path dir = o.data();
        FashionMnist trainSet = FashionMnist.load(dir, "train", FashionMnist.Pixels.STANDARDIZED).head(o.integer("train_limit"));
        FashionMnist testSet = FashionMnist.load(dir, "t10k", FashionMnist.Pixels.STANDARDIZED);
        boolean lenet = o.model().equals("lenet");
        ShuffledBatches train = new ShuffledBatches(trainSet, o.batch(), lenet, new SplittableRandom(seed));
        ShuffledBatches test = new ShuffledBatches(testSet, o.integer("eval_batch"), lenet, null);

        double wd = Double.parseDouble(o.get("weight_decay"));
        ISchedule lr = new WarmupCosine(Double.parseDouble(o.get("lr")), TimeToAccuracy.totalSteps(o, trainSet.count),
                Double.parseDouble(o.get("warmup_percent")));
        MultiLayerNetwork net = new MultiLayerNetwork(Dl4jPeer.config(o.model(), Dl4jPeer.base(seed)
                .updater(new Adam(lr))
                .weightDecay(wd, true)
                .weightDecayBias(wd, true)));
        net.init();

        TimeToAccuracy.run("dl4j", o, keys, new TimeToAccuracy.Run() {
            @Override
            public void trainEpoch(int epoch) {
                train.reset(); // a new order
                net.fit(train);
            }

            @Override
            public double testAccuracy() {
                test.reset();
                return net.evaluate(test).accuracy();
            }
        });
    }

    /** {@code lr x} {@link TimeToAccuracy#factor} at DL4J's iteration (optimizer step, from 0). */
    record WarmupCosine(double lr, long total, double percent) implements ISchedule {
        @Override
        public double valueAt(int iteration, int epoch) {
            return lr * TimeToAccuracy.factor(iteration, total, percent);
        }

        @Override
        public ISchedule clone() {
            return this; // immutable
        }
    }

    /**
     * Batches of a data set in a Fisher-Yates order drawn from {@code random} at every {@link #reset()} (in file
     * order when {@code random} is null); the last batch of an epoch may be partial. Features {@code (b, 784)}, or
     * {@code (b, 1, 28, 28)} for LeNet-5, gathered with {@code Nd4j.pullRows}; labels one-hot {@code (b, 10)}.
     * Not asynchronous: {@code fit} gathers each batch on its own thread, as Batchwise does.
     */
    static final class ShuffledBatches implements DataSetIterator {
        private final INDArray features;
        private final INDArray labels;
        private final int batch;
        private final boolean images;
        private final SplittableRandom random;
        private final int[] order;
        private int cursor;
        private DataSetPreProcessor preProcessor;

        ShuffledBatches(FashionMnist d, int batch, boolean images, SplittableRandom random) {
            this.features = Nd4j.create(d.images, new long[] {d.count, FashionMnist.PIXELS}, 'c');
            float[] oneHot = new float[d.count * FashionMnist.CLASSES];
            for (int i = 0; i < d.count; i++) {
                oneHot[i * FashionMnist.CLASSES + d.labels[i]] = 1f;
            }
            this.labels = Nd4j.create(oneHot, new long[] {d.count, FashionMnist.CLASSES}, 'c');
            this.batch = batch;
            this.images = images;
            this.random = random;
            this.order = new int[d.count];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
        }

        @Override
        public boolean hasNext() {
            return cursor < order.length;
        }

        @Override
        public DataSet next() {
            return next(batch);
        }

        @Override
        public DataSet next(int num) {
            int n = Math.min(num, order.length - cursor);
            int[] rows = Arrays.copyOfRange(order, cursor, cursor + n);
            cursor += n;
            INDArray x = Nd4j.pullRows(features, 1, rows);
            if (images) {
                x = x.reshape('c', n, 1, FashionMnist.SIDE, FashionMnist.SIDE);
            }
            DataSet ds = new DataSet(x, Nd4j.pullRows(labels, 1, rows));
            if (preProcessor != null) {
                preProcessor.preProcess(ds);
            }
            return ds;
        }

        @Override
        public void reset() {
            cursor = 0;
            if (random != null) {
                for (int i = order.length - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
            }
        }

        @Override
        public int inputColumns() {
            return FashionMnist.PIXELS;
        }

        @Override
        public int totalOutcomes() {
            return FashionMnist.CLASSES;
        }

        @Override
        public boolean resetSupported() {
            return true;
        }

        @Override
        public boolean asyncSupported() {
            return false;
        }

        @Override
        public int batch() {
            return batch;
        }

        @Override
        public void setPreProcessor(DataSetPreProcessor p) {
            this.preProcessor = p;
        }

        @Override
        public DataSetPreProcessor getPreProcessor() {
            return preProcessor;
        }

        @Override
        public List<String> getLabels() {
            return null;
        }
    }
}
