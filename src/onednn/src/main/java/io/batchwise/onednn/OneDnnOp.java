package io.batchwise.onednn;

import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Pass;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;

/** One step of a compiled program: a oneDNN primitive with its arguments, or a short host-side step. */
sealed interface OneDnnOp permits OneDnnOp.Prim, OneDnnOp.Host, OneDnnOp.Choice {

    String label();

    /**
     * A primitive executed with {@code args[i]} bound to execution argument {@code keys[i]}.
     *
     * @param scratchpad the primitive's scratchpad descriptor, or null when it needs none
     */
    record Prim(String label, Lazy primitive, int[] keys, OneDnnBuffer[] args, memory.desc scratchpad)
            implements OneDnnOp {
    }

    /** A primitive made on first {@link #get}, then owned by the plan's resources (so no scope frees it). */
    final class Lazy {
        private final OneDnnResources owner;
        private java.util.function.Supplier<? extends primitive> make;
        private primitive made;

        Lazy(OneDnnResources owner, java.util.function.Supplier<? extends primitive> make) {
            this.owner = owner;
            this.make = make;
        }

        synchronized primitive get() {
            if (made == null) {
                made = owner.own(make.get());
                make = null;
            }
            return made;
        }
    }

    /** Host-side work between primitives (dropout masks, running statistics, zeroing) over the buffers it uses. */
    record Host(String label, Step step, OneDnnBuffer... uses) implements OneDnnOp {
    }

    /**
     * {@code fixed} when the executor has a {@link io.batchwise.backend.BatchNormFix} for {@code node}, else
     * {@code normal} (exact BatchNorm swaps the batch-statistics forward for one with given statistics).
     */
    record Choice(String label, String node, java.util.List<OneDnnOp> normal, java.util.List<OneDnnOp> fixed)
            implements OneDnnOp {
    }

    /** A host step, run with the executor's memory after the stream has finished earlier primitives. */
    interface Step {
        void run(OneDnnExecutor executor, Pass pass);
    }

    /** A backward op and the gradient mode it belongs to (null: both). */
    record Tagged(OneDnnOp op, GradientMode only) {
    }
}
