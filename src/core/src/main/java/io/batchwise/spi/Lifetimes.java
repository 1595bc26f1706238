package io.batchwise.spi;

import io.batchwise.plan.MemoryPlan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The steps at which a planner's ops touch each arena buffer, and the memory plan with the builder's lifetimes
 * stretched to cover them: the same for every backend. An op can reach a buffer outside the lifetime the
 * builder gave it (a Flatten's output is its input's bytes; a gradient may be its consumer's), and the arena must
 * never let two buffers share bytes while either is in use.
 */
public final class Lifetimes {
    /** By root buffer name: the first and last step an op touches it. */
    private final Map<String, int[]> spans = new HashMap<>();

    /** Marks the root buffer {@code buffer} (an alias's root, never a parameter slot) as used at step {@code at}. */
    public void use(String buffer, int at) {
        int[] r = spans.computeIfAbsent(buffer, k -> new int[] {at, at});
        r[0] = Math.min(r[0], at);
        r[1] = Math.max(r[1], at);
    }

    /**
     * {@code built} with each buffer's lifetime widened to the steps it is used at. In a training plan, what
     * forward writes and backward reads (used before and after the loss step, {@code lossStep}) stays to the end
     * of the step, so that backward can run twice over one forward (OVERWRITE, then ACCUMULATE).
     */
    public MemoryPlan stretch(MemoryPlan built, boolean training, int lossStep) {
        List<MemoryPlan.Buffer> out = new ArrayList<>();
        for (MemoryPlan.Buffer b : built.buffers()) {
            int[] r = spans.get(b.name());
            if (r == null) {
                out.add(b);
                continue;
            }
            int first = r[0];
            int last = training && r[0] < lossStep && r[1] > lossStep ? built.steps() - 1 : r[1];
            out.add(first >= b.first() && last <= b.last() ? b
                    : new MemoryPlan.Buffer(b.name(), b.node(), b.kind(), b.bytes(), Math.min(b.first(), first), Math.max(b.last(), last)));
        }
        return new MemoryPlan(built.microBatch(), built.steps(), out);
    }
}
