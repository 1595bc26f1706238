package io.batchwise.benchmarks;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.inner_product_backward_data;
import org.bytedeco.dnnl.inner_product_backward_weights;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of the Java layer for one layer: forward + backward (data and weights) of a single layer through a
 * Batchwise executor ({@code via=batchwise}: input write, forward, output-gradient write, backward with the input's
 * gradient, as the direct side computes it) against the
 * same oneDNN primitives created once and executed directly on memory in the layouts oneDNN chose
 * ({@code via=direct}: three executes and a stream wait; no reorders, no data copies).
 * {@code dense}: 784 -> 256 at batch {@code batch}; {@code conv}: 6 -> 16 channels, 5x5, on 12x12 (LeNet-5's second
 * convolution). Operations per second are layer steps per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class LayerOverheadBenchmark {
    @Param({"dense", "conv"})
    public String layer;

    @Param({"1", "128"})
    public int batch;

    @Param({"batchwise", "direct"})
    public String via;

    // batchwise
    private Parameters params;
    private Plan plan;
    private Executor exec;
    private float[] input;
    private float[] gradient;
    // direct
    private engine eng;
    private stream strm;
    private final List<primitive> prims = new ArrayList<>();
    private final List<IntMemoryMap> args = new ArrayList<>();
    private final List<org.bytedeco.javacpp.Pointer> keep = new ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() {
        Shape in = layer.equals("dense") ? Shape.of(784) : Shape.of(6, 12, 12);
        Graph g = Graph.builder().input("x", in)
                .then("layer", layer.equals("dense") ? new Dense(256) : Conv2d.of(16, 5)).build();
        if (via.equals("batchwise")) {
            Backend b = Backends.get("onednn");
            params = b.createParameters(g, DataType.FLOAT32).initialize(1);
            plan = b.plan(g, batch, PlanOptions.forTraining().withInputGradients()); // data gradient too, as the direct side
            exec = plan.bind(params);
            input = new float[(int) (batch * in.size())];
            gradient = new float[(int) (batch * g.output().outputShape().size())];
            java.util.Arrays.fill(input, 0.5f);
            java.util.Arrays.fill(gradient, 0.01f);
        } else {
            eng = keep(new engine(engine.kind.cpu, 0));
            strm = keep(new stream(eng));
            if (layer.equals("dense")) {
                direct(new long[] {batch, 784}, new long[] {256, 784}, new long[] {batch, 256}, false);
            } else {
                direct(new long[] {batch, 6, 12, 12}, new long[] {16, 6, 5, 5}, new long[] {batch, 16, 8, 8}, true);
            }
        }
    }

    private <P extends org.bytedeco.javacpp.Pointer> P keep(P p) {
        keep.add(p);
        return p;
    }

    private memory.desc any(long... dims) {
        return keep(new memory.desc(dims, memory.data_type.f32, memory.format_tag.any));
    }

    private memory mem(memory.desc md) {
        return keep(new memory(md, eng));
    }

    private void add(primitive p, Object... kv) {
        IntMemoryMap m = keep(new IntMemoryMap());
        for (int i = 0; i < kv.length; i += 2) {
            m.put((Integer) kv[i], (memory) kv[i + 1]);
        }
        prims.add(keep(p));
        args.add(m);
    }

    /** Forward (training), backward data and backward weights with layouts chosen by oneDNN, as Batchwise does. */
    private void direct(long[] src, long[] w, long[] dst, boolean conv) {
        memory.desc bias = keep(new memory.desc(new long[] {w[0]}, memory.data_type.f32, memory.format_tag.a));
        long[] one = {1, 1};
        long[] zero = {0, 0};
        if (conv) {
            var fwd = keep(new convolution_forward.primitive_desc(eng, prop_kind.forward_training, algorithm.convolution_direct,
                    any(src), any(w), bias, any(dst), one, zero, zero, zero));
            var bd = keep(new convolution_backward_data.primitive_desc(eng, algorithm.convolution_direct, any(src), any(w),
                    any(dst), one, zero, zero, zero, fwd));
            var bw = keep(new convolution_backward_weights.primitive_desc(eng, algorithm.convolution_direct, any(src), any(w),
                    bias, any(dst), one, zero, zero, zero, fwd));
            memory s = mem(fwd.src_desc()), wt = mem(fwd.weights_desc()), b = mem(bias), d = mem(fwd.dst_desc());
            add(new convolution_forward(fwd), DNNL_ARG_SRC, s, DNNL_ARG_WEIGHTS, wt, DNNL_ARG_BIAS, b, DNNL_ARG_DST, d);
            add(new convolution_backward_data(bd), DNNL_ARG_DIFF_DST, mem(bd.diff_dst_desc()), DNNL_ARG_WEIGHTS,
                    mem(bd.weights_desc()), DNNL_ARG_DIFF_SRC, mem(bd.diff_src_desc()));
            add(new convolution_backward_weights(bw), DNNL_ARG_SRC, mem(bw.src_desc()), DNNL_ARG_DIFF_DST,
                    mem(bw.diff_dst_desc()), DNNL_ARG_DIFF_WEIGHTS, mem(bw.diff_weights_desc()), DNNL_ARG_DIFF_BIAS, mem(bias));
        } else {
            var fwd = keep(new inner_product_forward.primitive_desc(eng, prop_kind.forward_training, any(src), any(w), bias,
                    any(dst)));
            var bd = keep(new inner_product_backward_data.primitive_desc(eng, any(src), any(w), any(dst), fwd));
            var bw = keep(new inner_product_backward_weights.primitive_desc(eng, any(src), any(w), bias, any(dst), fwd));
            add(new inner_product_forward(fwd), DNNL_ARG_SRC, mem(fwd.src_desc()), DNNL_ARG_WEIGHTS, mem(fwd.weights_desc()),
                    DNNL_ARG_BIAS, mem(bias), DNNL_ARG_DST, mem(fwd.dst_desc()));
            add(new inner_product_backward_data(bd), DNNL_ARG_DIFF_DST, mem(bd.diff_dst_desc()), DNNL_ARG_WEIGHTS,
                    mem(bd.weights_desc()), DNNL_ARG_DIFF_SRC, mem(bd.diff_src_desc()));
            add(new inner_product_backward_weights(bw), DNNL_ARG_SRC, mem(bw.src_desc()), DNNL_ARG_DIFF_DST,
                    mem(bw.diff_dst_desc()), DNNL_ARG_DIFF_WEIGHTS, mem(bw.diff_weights_desc()), DNNL_ARG_DIFF_BIAS, mem(bias));
        }
    }

    @Benchmark
    public void step() {
        if (exec != null) {
            exec.input().write(input);
            exec.forward(Pass.training(1, 0));
            exec.outputGradient().write(gradient);
            exec.backward(GradientMode.OVERWRITE);
        } else {
            for (int i = 0; i < prims.size(); i++) {
                prims.get(i).execute(strm, args.get(i));
            }
            strm._wait();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (exec != null) {
            exec.close();
            plan.close();
            params.close();
        }
        for (int i = keep.size() - 1; i >= 0; i--) {
            keep.get(i).close();
        }
        keep.clear();
        prims.clear();
        args.clear();
    }
}
