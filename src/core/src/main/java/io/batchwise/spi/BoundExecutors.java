package io.batchwise.spi;

import io.batchwise.backend.Executor;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A plan's bookkeeping of the executors bound to it, the same for every backend: binding to a closed plan is
 * refused; closing the plan closes its open executors first (each tells back through {@link #unbound}), and
 * only then is the plan closed, so an executor's close may still use the plan's primitives.
 *
 * @param <E> the backend's executor type
 */
public final class BoundExecutors<E extends Executor> {
    private final Set<E> open = new LinkedHashSet<>();
    private boolean closed;

    /** Binds a new executor made by {@code bind}, unless the plan is closed. */
    public E bind(Supplier<E> bind) {
        requireOpen();
        E e = bind.get();
        open.add(e);
        return e;
    }

    /** Called by an executor's close. */
    public void unbound(E e) {
        open.remove(e);
    }

    /** Throws {@link IllegalStateException} if the plan is closed. */
    public void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the plan is closed");
        }
    }

    public boolean closed() {
        return closed;
    }

    /**
     * Closes every open executor, then marks the plan closed. Returns false when it was closed already, so the
     * plan frees its own resources once: {@code if (executors.close()) { free the plan's own }}.
     */
    public boolean close() {
        if (closed) {
            return false;
        }
        for (E e : new ArrayList<>(open)) {
            e.close();
        }
        closed = true;
        return true;
    }
}
