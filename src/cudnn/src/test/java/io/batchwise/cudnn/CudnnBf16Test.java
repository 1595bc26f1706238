package io.batchwise.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.backend.Availability;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
import io.batchwise.models.Models;
import io.batchwise.plan.MemoryPlan;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** bf16 mixed precision on the cudnn backend without a GPU: the programs' types and conversions, the bytes, the refusal. */
class CudnnBf16Test {
    private static final Logger LOG = LoggerFactory.getLogger(CudnnBf16Test.class);
    private static final PlanOptions BF16 = PlanOptions.forTraining().withPrecision(Precision.BF16_MIXED);
    private static final ConvAlgorithms ALGOS = new ConvAlgorithms(1, 1000, 1, 2000, 0, 3000);

    private static CudnnProgram plan(Graph g, int b, PlanOptions o) {
        return CudnnPlanner.compile(g, b, o, x -> ALGOS);
    }

    /**
     * LeNet-5's bf16 program: every activation, gradient and convolution bf16; parameters and their gradients float32;
     * and exactly the conversions the policy asks for, once per pass: the input, each weight and bias copy, the output
     * to its float32 stage and its gradient back, each convolution's weight and bias gradient and each dense bias
     * gradient into float32 (the dense weight gradients come out of cublasGemmEx in float32).
     */
    @Test
    void lenetsBf16ProgramConvertsWhereThePolicySays() {
        CudnnProgram p = plan(Models.lenet(), 16, BF16);
        for (CudnnBuffer b : p.buffers) {
            boolean stage = b.name.endsWith("_f32") || b.name.startsWith("loss") || b.name.contains(".loss_");
            if (b.isParameter() || stage || b.name.endsWith(".mean") || b.name.endsWith(".inv_std") || b.name.contains("workspace")) {
                assertEquals(DataType.FLOAT32, b.type, b.toString());
            } else if (b.name.endsWith(".dst") || b.name.endsWith(".diff_dst") || b.name.endsWith("_bf16")) {
                assertEquals(DataType.BFLOAT16, b.type, b.toString());
            }
        }
        List<String> conversions = new ArrayList<>();
        for (CudnnOp op : p.allOps()) {
            if (op instanceof CudnnOp.Convert c) {
                conversions.add(c.label());
            } else if (op instanceof CudnnOp.ConvForward c) {
                assertTrue(c.g().bf16(), c.label());
            }
        }
        LOG.info("LeNet-5 bf16 program:\n{}", p.listing());
        List<String> want = new ArrayList<>(List.of("x to bf16", "fc3 output to float32", "fc3 gradient to bf16"));
        for (String conv : List.of("conv1", "conv2")) {
            want.addAll(List.of(conv + " weight to bf16", conv + " bias to bf16", conv + " weight gradient to float32",
                    conv + " bias gradient to float32"));
        }
        for (String fc : List.of("fc1", "fc2", "fc3")) {
            want.addAll(List.of(fc + " weight to bf16", fc + " bias to bf16", fc + " bias gradient to float32"));
        }
        assertEquals(want.stream().sorted().toList(), conversions.stream().sorted().toList());
        assertEquals(DataType.FLOAT32, p.callerInputs.get("x").type);
        assertEquals(DataType.FLOAT32, p.callerOutput.type);
        assertEquals(DataType.FLOAT32, p.callerOutputGradient.type);
    }

    /**
     * Activations and their gradients of the nodes that compute take half the bytes (the float32 input and output
     * stages aside; there is no float32 region as on oneDNN); parameters, gradients and state do not change.
     */
    @ParameterizedTest
    @CsvSource({"mlp", "lenet", "resnet-small"})
    void activationBytesHalve(String model) {
        Graph g = Models.byName(model);
        CudnnProgram f = plan(g, 64, PlanOptions.forTraining());
        CudnnProgram h = plan(g, 64, BF16);
        long fa = activations(g, f.memory);
        long ha = activations(g, h.memory);
        LOG.info("{} at b = 64 on cudnn: activations + their gradients fp32 {} bytes, bf16 {} bytes; arena {} -> {}", model, fa, ha,
                f.memory.arena().bytes(), h.memory.arena().bytes());
        assertTrue(ha <= 0.52 * fa, model + ": bf16 " + ha + " vs fp32 " + fa);
        assertEquals(f.memory.sharedBytes(), h.memory.sharedBytes(), "parameters, gradients and state stay f32");
    }

    private static long activations(Graph g, MemoryPlan m) {
        java.util.Set<String> inputs = new java.util.HashSet<>();
        g.inputs().forEach(n -> inputs.add(n.name()));
        return m.buffers().stream().filter(b -> b.node() != null && !inputs.contains(b.node()) && !b.name().endsWith("_f32"))
                .filter(b -> b.kind() == MemoryPlan.Kind.ACTIVATION || b.kind() == MemoryPlan.Kind.ACTIVATION_GRADIENT)
                .mapToLong(MemoryPlan.Buffer::bytes).sum();
    }

    /** Below compute capability 8.0 bf16 is refused, naming the GPU and the alternative; float32 still plans there. */
    @Test
    void aGpuWithoutBf16RefusesItByName() {
        assertNull(CudaDevice.bf16Refusal("NVIDIA A100", 8, 0));
        assertNull(CudaDevice.bf16Refusal("NVIDIA H100", 9, 0));
        String m = CudaDevice.bf16Refusal("Tesla T4", 7, 5);
        assertTrue(m.contains("sm_75") && m.contains("Tesla T4") && m.contains("8.0") && m.contains("fp32"), m);
        SimulatedDevice device = new SimulatedDevice();
        device.bf16Refusal = m;
        CudnnBackend b = new CudnnBackend(() -> device, () -> Availability.yes(device.describe()));
        var e = assertThrows(UnsupportedOperationException.class, () -> b.plan(Models.mlp(), 8, BF16));
        assertEquals(m, e.getMessage());
        b.plan(Models.mlp(), 8, PlanOptions.forTraining()).close();
    }
}
