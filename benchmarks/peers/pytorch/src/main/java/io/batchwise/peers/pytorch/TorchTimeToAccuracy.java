package io.batchwise.peers.pytorch;

import static org.bytedeco.pytorch.global.torch.cross_entropy;

import io.batchwise.peers.FashionMnist;
import io.batchwise.peers.Options;
import io.batchwise.peers.TimeToAccuracy;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OptimizerOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Batchwise's main job in libtorch's usual loop: the MLP or LeNet-5 of {@link TorchPeer} (Glorot-uniform weights,
 * zero biases), {@code torch::optim::AdamW} (betas 0.9/0.999, eps 1e-8, weight decay 0.1 on every parameter),
 * its learning rate set before every step to {@code lr x} the warm-up + cosine factor, softmax cross-entropy
 * (mean over the batch), batches of 32 gathered with {@code index_select} from a {@code randperm} of the training
 * set drawn each epoch (libtorch's generator, seeded), and the test set evaluated under {@code NoGradGuard} in
 * batches of {@code eval_batch} after every epoch.
 *
 * <pre>
 * java -cp peer-pytorch.jar io.batchwise.peers.pytorch.TorchTimeToAccuracy model=lenet threads=2 torch_threads=2 blas_threads=1
 * </pre>
 * Keys: {@link TimeToAccuracy} and {@code torch_threads}, {@code blas_threads} as for {@link TorchPeer}.
 */
public final class TorchTimeToAccuracy {
    private TorchTimeToAccuracy() {
    }

    public static void main(String[] args) {
        Options o = TimeToAccuracy.options(args, TorchPeer.THREAD_KEYS);
        var keys = TorchPeer.setThreads(o);
        torch.manual_seed(o.integer("seed"));

        // Data loading (not timed): both sets standardized as Batchwise does, each one tensor.
        Path dir = o.data();
        FashionMnist trainSet = FashionMnist.load(dir, "train", FashionMnist.Pixels.STANDARDIZED).head(o.integer("train_limit"));
        FashionMnist testSet = FashionMnist.load(dir, "t10k", FashionMnist.Pixels.STANDARDIZED);
        boolean lenet = o.model().equals("lenet");
        Tensor xTrain = images(trainSet, lenet);
        Tensor yTrain = labels(trainSet);
        Tensor xTest = images(testSet, lenet);
        Tensor yTest = labels(testSet);

        TorchPeer.Net net = TorchPeer.Net.create(o.model());
        double lr = Double.parseDouble(o.get("lr"));
        AdamWOptions options = new AdamWOptions(lr);
        options.weight_decay().put(Double.parseDouble(o.get("weight_decay")));
        AdamW adamw = new AdamW(net.parameters(), options);
        OptimizerOptions group = adamw.param_groups().get(0).options();

        int n = trainSet.count;
        int b = o.batch();
        long total = TimeToAccuracy.totalSteps(o, n);
        double warmup = Double.parseDouble(o.get("warmup_percent"));
        int evalBatch = o.integer("eval_batch");
        long[] step = {0};
        TimeToAccuracy.run("libtorch", o, keys, new TimeToAccuracy.Run() {
            @Override
            public void trainEpoch(int epoch) {
                Tensor perm = torch.randperm(n); // int64, from the seeded default generator
                for (int from = 0; from < n; from += b) {
                    // Every step's temporaries (the batch, activations, graph handles) freed at the end of the step.
                    try (PointerScope scope = new PointerScope()) {
                        Tensor idx = perm.narrow(0, from, Math.min(b, n - from));
                        Tensor x = xTrain.index_select(0, idx);
                        Tensor y = yTrain.index_select(0, idx);
                        group.set_lr(lr * TimeToAccuracy.factor(step[0]++, total, warmup));
                        adamw.zero_grad();
                        Tensor loss = cross_entropy(net.forward(x), y);
                        loss.backward();
                        adamw.step();
                    }
                }
                perm.close();
            }

            @Override
            public double testAccuracy() {
                long correct = 0;
                int m = (int) yTest.size(0);
                try (NoGradGuard g = new NoGradGuard()) {
                    for (int from = 0; from < m; from += evalBatch) {
                        try (PointerScope scope = new PointerScope()) {
                            int k = Math.min(evalBatch, m - from);
                            Tensor predicted = net.forward(xTest.narrow(0, from, k)).argmax(new LongOptional(1), false);
                            correct += predicted.eq(yTest.narrow(0, from, k)).sum().item_long();
                        }
                    }
                }
                return (double) correct / m;
            }
        });
    }

    /** {@code (n, 1, 28, 28)} for LeNet-5, {@code (n, 784)} for the MLP; float32. */
    private static Tensor images(FashionMnist d, boolean lenet) {
        long[] shape = lenet ? new long[] {d.count, 1, FashionMnist.SIDE, FashionMnist.SIDE} : new long[] {d.count, FashionMnist.PIXELS};
        return Tensor.create(d.images, shape);
    }

    /** int64 class indices. */
    private static Tensor labels(FashionMnist d) {
        long[] y = new long[d.count];
        for (int i = 0; i < y.length; i++) {
            y[i] = d.labels[i];
        }
        return Tensor.create(y, d.count);
    }
}
