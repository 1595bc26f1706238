package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.batchwise.Graph;
import io.batchwise.backend.PlanOptions;
import io.batchwise.backend.Precision;
import io.batchwise.models.Models;
import io.batchwise.plan.Budget;
import io.batchwise.plan.MemoryPlan;
import io.batchwise.plan.MemoryPlanner;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** bf16 mixed precision on the oneDNN backend: kernels, the ISA check, the planner's bytes. */
class OneDnnBf16Test {
    private static final Logger LOG = LoggerFactory.getLogger(OneDnnBf16Test.class);
    private static final PlanOptions BF16 = PlanOptions.forTraining().withPrecision(Precision.BF16_MIXED);

    private static void assumeNativeBf16() {
        String isa = OneDnnBf16.effectiveIsa();
        assumeTrue(OneDnnBf16.refusal(isa) == null, () -> "no native bf16 on this CPU (oneDNN ISA " + isa + ")");
    }

    /**
     * Every primitive of the built-in models has a native kernel in bf16 (no {@code ref}), the compute primitives
     * run bf16 kernels, and the reorders are counted: the conversions a change of precision costs per step.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mlp", "lenet", "resnet-small"})
    void noReferenceKernelsAndBf16ComputeKernels(String model) {
        assumeNativeBf16();
        Graph g = Models.byName(model);
        try (OneDnnPlan plan = (OneDnnPlan) new OneDnnBackend().plan(g, 128, BF16)) {
            LOG.info("{} in bf16 at micro-batch 128:\n{}", model, plan);
            long reorders = 0;
            for (Map.Entry<String, String> e : plan.implementations().entrySet()) {
                assertTrue(!e.getValue().startsWith("ref"), model + ": " + e.getKey() + " runs oneDNN's reference kernel "
                        + e.getValue());
                reorders += e.getKey().contains("->") || e.getKey().contains("to bf16") ? 1 : 0;
            }
            LOG.info("{}: {} primitives, {} of them conversions (layout or precision)", model, plan.implementations().size(),
                    reorders);
            plan.implementations().forEach((label, impl) -> {
                boolean compute = label.endsWith(" forward") || label.endsWith(" backward data");
                if (compute && (label.startsWith("conv") || label.startsWith("fc") || label.contains(".conv")
                        || label.startsWith("stem"))) {
                    assertTrue(impl.contains("bf16") || impl.contains("amx"), model + ": " + label + " runs " + impl
                            + ", not a bf16 kernel");
                }
            });
        }
    }

    /**
     * LeNet-5's one-channel first convolution computes its weight gradient in f32 (its bf16 kernel is a slow gemm), and
     * conv1 -> relu1 -> pool1 is the f32 region: conv1's forward computes in bf16 writing f32, pool1 runs f32 (its bf16
     * backward is several times slower), conv2 reads pool1's output through the reorder to its channels-last layout it
     * needs anyway, and no gradient is converted for conv1's weight gradient.
     */
    @Test
    void oneChannelConvolutionKeepsItsWeightGradientInFloat32() {
        assumeNativeBf16();
        assertEquals(java.util.Set.of("conv1", "relu1", "pool1"), OneDnnPlanner.f32Region(Models.lenet()));
        assertEquals(java.util.Set.of(), OneDnnPlanner.f32Region(Models.resnetSmall()), "a stem before a BatchNorm stays bf16");
        try (OneDnnPlan plan = (OneDnnPlan) new OneDnnBackend().plan(Models.lenet(), 64, BF16)) {
            assertTrue(plan.implementations().get("pool1 backward").contains("avx512_core")
                    && !plan.implementations().get("pool1 backward").contains("bf16"), plan.implementations().toString());
            assertTrue(plan.implementations().keySet().stream().noneMatch(k -> k.startsWith("conv1 diff_dst")),
                    "no conversion of conv1's gradient: " + plan.implementations().keySet());
            String conv1 = plan.implementations().get("conv1 backward weights");
            String conv2 = plan.implementations().get("conv2 backward weights");
            assertTrue(conv1 != null && !conv1.contains("bf16") && !conv1.contains("gemm"), "conv1: " + conv1);
            assertTrue(conv2 != null && conv2.contains("bf16"), "conv2: " + conv2);
            assertTrue(plan.implementations().get("conv1 forward").contains("bf16"), plan.implementations().toString());
        }
    }

    /** A CPU without AVX512_BF16 or AMX: bf16 is refused with the ISA named, float32 still plans. */
    @Test
    void refusesBf16WithoutNativeIsaAndNamesIt() {
        OneDnnBackend avx2 = new OneDnnBackend(() -> "avx2");
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> avx2.plan(Models.mlp(), 8, BF16).close());
        String m = e.getMessage();
        assertTrue(m.contains("avx2") && m.contains("AVX512_BF16") && m.contains("AMX") && m.contains("fp32"), m);
        OneDnnBackend avx512 = new OneDnnBackend(() -> "AVX512_CORE");
        assertThrows(UnsupportedOperationException.class, () -> MemoryPlanner.plan(avx512, Models.mlp(), 2, 64,
                Budget.of(64L << 20), Precision.BF16_MIXED));
        avx2.plan(Models.mlp(), 8, PlanOptions.forTraining()).close();
        assertNull(OneDnnBf16.refusal("avx512_core_bf16"));
        assertNull(OneDnnBf16.refusal("avx512_core_amx"));
    }

    /**
     * At one micro-batch, the bytes of the activations the network computes and of their gradients are about half of
     * float32's; LeNet-5's hardly less: its largest tensors, conv1's and pool1's outputs and gradients, are the planner's
     * f32 region (OneDnnPlanner.f32Region: bf16 loses speed there), so only what follows conv2 halves. The caller's
     * input (kind INPUT) is not counted: it stays
     * f32 next to its bf16 copy (the MLP's 784-float input is why its planned micro-batch does not grow), so the input
     * node's buffers are left out.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"mlp, 0.56", "lenet, 0.97", "resnet-small, 0.56"})
    void activationBytesHalve(String model, double most) {
        assumeNativeBf16();
        Graph g = Models.byName(model);
        OneDnnBackend b = new OneDnnBackend();
        try (OneDnnPlan f = (OneDnnPlan) b.plan(g, 64, PlanOptions.forTraining()); OneDnnPlan h = (OneDnnPlan) b.plan(g, 64, BF16)) {
            long fa = activations(g, f.memory());
            long ha = activations(g, h.memory());
            LOG.info("{} at b = 64: activations + their gradients fp32 {} bytes, bf16 {} bytes; arena {} -> {}", model, fa, ha,
                    f.memory().arena().bytes(), h.memory().arena().bytes());
            assertTrue(ha <= most * fa, model + ": bf16 " + ha + " vs fp32 " + fa);
            assertEquals(f.memory().sharedBytes(), h.memory().sharedBytes(), "parameters, gradients and state stay f32");
        }
    }

    /** Activations and activation gradients of the nodes that compute (the input node's buffers left out). */
    private static long activations(Graph g, MemoryPlan m) {
        java.util.Set<String> inputs = new java.util.HashSet<>();
        g.inputs().forEach(n -> inputs.add(n.name()));
        return m.buffers().stream().filter(b -> b.node() != null && !inputs.contains(b.node()))
                .filter(b -> b.kind() == MemoryPlan.Kind.ACTIVATION || b.kind() == MemoryPlan.Kind.ACTIVATION_GRADIENT)
                .mapToLong(MemoryPlan.Buffer::bytes).sum();
    }
}
