package io.batchwise.peers.pytorch;

import static org.bytedeco.pytorch.global.torch.cross_entropy;
import static org.bytedeco.pytorch.global.torch.max_pool2d;
import static org.bytedeco.pytorch.global.torch.relu;

import io.batchwise.peers.FashionMnist;
import io.batchwise.peers.Options;
import io.batchwise.peers.Throughput;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.openblas.presets.openblas_nolapack;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The MLP and LeNet-5 training steps in libtorch (JavaCPP PyTorch preset): float32, Glorot-uniform weights,
 * zero biases, softmax cross-entropy (mean over the batch), plain SGD lr 0.01 (no momentum), eager mode.
 *
 * <pre>
 * java -jar peer-pytorch.jar model=mlp|lenet batch=128 threads=2 [torch_threads=2] [blas_threads=1] ...
 * </pre>
 * {@code torch_threads} sizes libtorch's intra-op OpenMP pool ({@code torch::set_num_threads}), and
 * {@code blas_threads} OpenBLAS's own pthread pool, which libtorch calls for the Linear layers' GEMMs (this
 * CPU build has no MKL). Both default to {@code threads}; two pools of two threads each on two cores
 * oversubscribe them, which is why peers.sh measures several settings. Set OMP_NUM_THREADS and
 * OPENBLAS_NUM_THREADS in the environment to the same values, so the pools are the right size from the start.
 */
public final class TorchPeer {
    private TorchPeer() {
    }

    /** A model of this benchmark: its forward pass and its initialisation. */
    abstract static class Net extends Module {
        abstract Tensor forward(Tensor x);

        /** Glorot-uniform weights, zero biases. */
        abstract void init();

        /** {@code mlp} or {@code lenet}, initialised. */
        static Net create(String model) {
            Net net = model.equals("lenet") ? new LeNet() : new Mlp();
            try (NoGradGuard g = new NoGradGuard()) {
                net.init();
            }
            return net;
        }
    }

    /** Dense 784-256-128-10 with ReLU; input (b, 784). */
    static final class Mlp extends Net {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(784, 256));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(256, 128));
        final LinearImpl fc3 = register_module("fc3", new LinearImpl(128, 10));

        @Override
        Tensor forward(Tensor x) {
            return fc3.forward(relu(fc2.forward(relu(fc1.forward(x)))));
        }

        @Override
        void init() {
            for (LinearImpl l : new LinearImpl[] {fc1, fc2, fc3}) {
                torch.xavier_uniform_(l.weight());
                torch.zero_(l.bias());
            }
        }
    }

    /** LeNet-5 without padding; input (b, 1, 28, 28). */
    static final class LeNet extends Net {
        final Conv2dImpl conv1 = register_module("conv1", new Conv2dImpl(new Conv2dOptions(1, 6, new LongPointer(5, 5))));
        final Conv2dImpl conv2 = register_module("conv2", new Conv2dImpl(new Conv2dOptions(6, 16, new LongPointer(5, 5))));
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(16 * 4 * 4, 120));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(120, 84));
        final LinearImpl fc3 = register_module("fc3", new LinearImpl(84, 10));
        private static final long[] TWO = {2, 2};
        private static final long[] ZERO = {0, 0};
        private static final long[] ONE = {1, 1};

        @Override
        Tensor forward(Tensor x) {
            x = max_pool2d(relu(conv1.forward(x)), TWO, TWO, ZERO, ONE, false);   // (b, 6, 12, 12)
            x = max_pool2d(relu(conv2.forward(x)), TWO, TWO, ZERO, ONE, false);   // (b, 16, 4, 4)
            x = x.reshape(x.size(0), 16 * 4 * 4);                                  // (b, 256)
            return fc3.forward(relu(fc2.forward(relu(fc1.forward(x)))));
        }

        @Override
        void init() {
            torch.xavier_uniform_(conv1.weight());
            torch.zero_(conv1.bias());
            torch.xavier_uniform_(conv2.weight());
            torch.zero_(conv2.bias());
            for (LinearImpl l : new LinearImpl[] {fc1, fc2, fc3}) {
                torch.xavier_uniform_(l.weight());
                torch.zero_(l.bias());
            }
        }
    }

    /** The peer's own keys, with their defaults ({@code threads}). */
    static final Map<String, String> THREAD_KEYS = Map.of("torch_threads", "", "blas_threads", "");

    /**
     * Sizes libtorch's intra-op pool ({@code torch_threads}) and OpenBLAS's ({@code blas_threads}), both
     * {@code threads} by default, prints them and libtorch's configuration on stderr, and returns them as RESULT keys.
     */
    static Map<String, String> setThreads(Options o) {
        int torchThreads = o.get("torch_threads").isEmpty() ? o.threads() : o.integer("torch_threads");
        int blasThreads = o.get("blas_threads").isEmpty() ? o.threads() : o.integer("blas_threads");
        torch.set_num_threads(torchThreads);
        openblas_nolapack.blas_set_num_threads(blasThreads);
        System.err.printf("libtorch: intra-op threads %d (OMP_NUM_THREADS=%s), OpenBLAS threads %d (OPENBLAS_NUM_THREADS=%s), MKL-DNN %s%n",
                torch.get_num_threads(), System.getenv("OMP_NUM_THREADS"), blasThreads, System.getenv("OPENBLAS_NUM_THREADS"),
                torch.hasMKLDNN());
        System.err.println(torch.show_config().getString().strip());
        System.err.println(torch.get_parallel_info().getString().strip());
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("torch_threads", Integer.toString(torchThreads));
        keys.put("blas_threads", Integer.toString(blasThreads));
        return keys;
    }

    public static void main(String[] args) {
        Options o = new Options(args, THREAD_KEYS);
        Map<String, String> keys = setThreads(o);
        torch.manual_seed(7);

        FashionMnist data = FashionMnist.train(o.data());
        int b = o.batch();
        int n = Throughput.batchCount(data, b);
        boolean lenet = o.model().equals("lenet");
        long[] shape = lenet ? new long[] {b, 1, FashionMnist.SIDE, FashionMnist.SIDE} : new long[] {b, FashionMnist.PIXELS};
        Tensor[] x = new Tensor[n];
        Tensor[] y = new Tensor[n];
        for (int i = 0; i < n; i++) {
            x[i] = Tensor.create(data.images(i * b, b), shape);
            long[] labels = new long[b];
            int[] l = data.labels(i * b, b);
            for (int j = 0; j < b; j++) {
                labels[j] = l[j];
            }
            y[i] = Tensor.create(labels, b); // int64 class indices
        }

        Net net = Net.create(o.model());
        SGD sgd = new SGD(net.parameters(), new SGDOptions(0.01));

        Throughput.Peer peer = new Throughput.Peer() {
            @Override
            public int batches() {
                return n;
            }

            @Override
            public void step(int i) {
                train(i, false);
            }

            @Override
            public double stepWithLoss(int i) {
                return train(i, true);
            }

            private double train(int i, boolean loss) {
                // Every step's temporaries (activations, loss, graph handles) freed at the end of the step.
                try (PointerScope scope = new PointerScope()) {
                    sgd.zero_grad();
                    Tensor logits = net.forward(x[i]);
                    Tensor l = cross_entropy(logits, y[i]);
                    l.backward();
                    sgd.step();
                    return loss ? l.item_float() : 0;
                }
            }
        };
        Throughput.run("libtorch", o, keys, peer);
    }
}
