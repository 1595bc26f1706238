package io.batchwise.onednn;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Pointer;

/**
 * Native objects owned by a plan or an executor, freed deterministically by {@link #close()} in
 * reverse order of acquisition. Owning an object retains one reference, so a {@code PointerScope}
 * open while it was made does not free it when the scope closes.
 */
final class OneDnnResources implements AutoCloseable {
    private final List<Pointer> owned = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    <P extends Pointer> P own(P p) {
        if (p != null && !p.isNull()) {
            p.retainReference();
            owned.add(p);
        }
        return p;
    }

    <C extends AutoCloseable> C own(C c) {
        closeables.add(c);
        return c;
    }

    int size() {
        return owned.size() + closeables.size();
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                }
            }
        }
        closeables.clear();
        for (int i = owned.size() - 1; i >= 0; i--) {
            Pointer p = owned.get(i);
            // Release the reference taken in own(); the object is freed when no scope holds it.
            p.releaseReference();
            if (!p.isNull() && p.referenceCount() <= 0) {
                p.deallocate();
            }
        }
        owned.clear();
        if (first != null) {
            throw first;
        }
    }
}
