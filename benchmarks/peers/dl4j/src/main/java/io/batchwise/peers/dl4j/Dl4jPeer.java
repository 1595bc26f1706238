package io.batchwise.peers.dl4j;

import io.batchwise.peers.FashionMnist;
import io.batchwise.peers.Options;
import io.batchwise.peers.Throughput;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * The MLP and LeNet-5 training steps in Deeplearning4j ({@code MultiLayerNetwork.fit} on one prepared
 * batch): float32, Glorot-uniform weights ({@code XAVIER_UNIFORM}), zero biases, softmax output with
 * multi-class cross-entropy (mean over the batch), plain SGD lr 0.01, workspaces on, no listeners.
 *
 * <pre>
 * java -jar peer-dl4j.jar model=mlp|lenet batch=128 threads=2 ...
 * </pre>
 * Threads: nd4j's OpenMP pool takes OMP_NUM_THREADS from the environment when the native library loads, and
 * nd4j sizes OpenBLAS's pool to the same number; this main checks that the environment matches
 * {@code threads} and sets both again.
 */
public final class Dl4jPeer {
    private Dl4jPeer() {
    }

    /** The training step's configuration: plain SGD lr 0.01, seed 7. */
    static MultiLayerConfiguration config(String model) {
        return config(model, base(7).updater(new Sgd(0.01)));
    }

    /** Float32, Glorot-uniform weights ({@code XAVIER_UNIFORM}), zero biases, workspaces on; no updater yet. */
    static NeuralNetConfiguration.Builder base(long seed) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .weightInit(WeightInit.XAVIER_UNIFORM)
                .biasInit(0)
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED);
    }

    /** {@code model}'s layers (softmax output, multi-class cross-entropy) on the settings of {@code base}. */
    static MultiLayerConfiguration config(String model, NeuralNetConfiguration.Builder base) {
        NeuralNetConfiguration.ListBuilder b = base.list();
        if (model.equals("mlp")) {
            return b.layer(new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.RELU).build())
                    .layer(new DenseLayer.Builder().nIn(256).nOut(128).activation(Activation.RELU).build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(128).nOut(10).activation(Activation.SOFTMAX).build())
                    .build();
        }
        // No padding (ConvolutionMode.Truncate, the default): 28 -> 24 -> 12 -> 8 -> 4.
        return b.layer(new ConvolutionLayer.Builder(5, 5).nIn(1).nOut(6).stride(1, 1).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(16).stride(1, 1).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(120).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(84).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(FashionMnist.SIDE, FashionMnist.SIDE, 1)) // NCHW
                .build();
    }

    /**
     * Checks that OMP_NUM_THREADS is {@code threads} (nd4j sized its OpenMP pool from it when it loaded), sets
     * nd4j's and OpenBLAS's pools to it, turns nd4j's periodic {@code System.gc()} off, prints the settings on
     * stderr and returns the RESULT keys.
     */
    static Map<String, String> setThreads(Options o) {
        String omp = System.getenv("OMP_NUM_THREADS");
        if (omp == null || Integer.parseInt(omp.trim()) != o.threads()) {
            throw new IllegalArgumentException("threads=" + o.threads() + " but OMP_NUM_THREADS=" + omp
                    + ": nd4j sizes its OpenMP pool from the environment, so set OMP_NUM_THREADS=" + o.threads());
        }
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        Nd4j.getEnvironment().setMaxThreads(o.threads());
        Nd4j.getEnvironment().setMaxMasterThreads(o.threads());
        Nd4j.factory().blas().setMaxThreads(o.threads());
        Nd4j.getMemoryManager().togglePeriodicGc(false); // no System.gc() calls in the timed windows
        System.err.printf("nd4j: threads %d, master threads %d, BLAS %s threads %d, helpers %s, oneDNN %s, build: %s%n",
                Nd4j.getEnvironment().maxThreads(), Nd4j.getEnvironment().maxMasterThreads(),
                Nd4j.factory().blas().getBlasVendor(), Nd4j.factory().blas().getMaxThreads(),
                Nd4j.getEnvironment().helpersAllowed() ? "allowed" : "off",
                Nd4jCpu.Environment.getInstance().isUseONEDNN() ? "on" : "off",
                NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo().replace('\n', ' '));
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("blas_threads", Integer.toString(Nd4j.factory().blas().getMaxThreads()));
        return keys;
    }

    public static void main(String[] args) {
        Options o = new Options(args, Map.of());
        Map<String, String> keys = setThreads(o);

        FashionMnist data = FashionMnist.train(o.data());
        int b = o.batch();
        int n = Throughput.batchCount(data, b);
        boolean lenet = o.model().equals("lenet");
        long[] shape = lenet ? new long[] {b, 1, FashionMnist.SIDE, FashionMnist.SIDE} : new long[] {b, FashionMnist.PIXELS};
        INDArray[] x = new INDArray[n];
        INDArray[] y = new INDArray[n];
        for (int i = 0; i < n; i++) {
            x[i] = Nd4j.create(data.images(i * b, b), shape, 'c');
            float[] oneHot = new float[b * FashionMnist.CLASSES]; // (b, 10)
            int[] l = data.labels(i * b, b);
            for (int j = 0; j < b; j++) {
                oneHot[j * FashionMnist.CLASSES + l[j]] = 1f;
            }
            y[i] = Nd4j.create(oneHot, new long[] {b, FashionMnist.CLASSES}, 'c');
        }

        MultiLayerNetwork net = new MultiLayerNetwork(config(o.model()));
        net.init();

        Throughput.Peer peer = new Throughput.Peer() {
            @Override
            public int batches() {
                return n;
            }

            @Override
            public void step(int i) {
                net.fit(x[i], y[i]);
            }

            @Override
            public double stepWithLoss(int i) {
                net.fit(x[i], y[i]);
                return net.score(); // the loss of this fit's batch
            }
        };
        Throughput.run("dl4j", o, keys, peer);
    }
}
