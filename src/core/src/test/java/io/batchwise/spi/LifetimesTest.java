package io.batchwise.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.batchwise.plan.MemoryPlan;
import io.batchwise.plan.MemoryPlan.Buffer;
import io.batchwise.plan.MemoryPlan.Kind;
import java.util.List;
import org.junit.jupiter.api.Test;

class LifetimesTest {
    /** 7 steps: forward 0-2, loss 3, backward 4-6. */
    private static final MemoryPlan BUILT = new MemoryPlan(4, 7, List.of(
            new Buffer("a.dst", "a", Kind.ACTIVATION, 64, 0, 1),
            new Buffer("b.dst", "b", Kind.ACTIVATION, 64, 1, 2),
            new Buffer("b.diff_dst", "b", Kind.ACTIVATION_GRADIENT, 64, 4, 5)));

    private static Buffer of(MemoryPlan p, String name) {
        return p.buffers().stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void widensOnlyWhereAnOpReachesOutsideTheBuiltLifetime() {
        Lifetimes l = new Lifetimes();
        l.use("a.dst", 0);
        l.use("a.dst", 2); // read through an alias one step later than the builder thought
        l.use("b.diff_dst", 4);
        MemoryPlan p = l.stretch(BUILT, false, 3);
        assertEquals(List.of(0, 2), List.of(of(p, "a.dst").first(), of(p, "a.dst").last()));
        assertSame(of(BUILT, "b.diff_dst"), of(p, "b.diff_dst"));
        assertSame(of(BUILT, "b.dst"), of(p, "b.dst"), "never used: as built");
    }

    @Test
    void whatForwardWritesAndBackwardReadsLivesToTheEndOfATrainingStep() {
        Lifetimes l = new Lifetimes();
        l.use("b.dst", 1);
        l.use("b.dst", 5); // backward reads forward's output
        assertEquals(6, of(l.stretch(BUILT, true, 3), "b.dst").last(), "kept for a second backward");
        assertEquals(5, of(l.stretch(BUILT, false, 3), "b.dst").last());
    }
}
