package io.batchwise.onednn;

import io.batchwise.backend.Availability;
import io.batchwise.backend.MemoryTracker;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.stream;

/**
 * The process-wide oneDNN state: one CPU engine and one stream, created on first use (about
 * 13 ms once the library is loaded) and kept for the life of the process, plus the memory tracker
 * every allocation of this backend goes through. Every {@link OneDnnBackend} instance that
 * {@link java.util.ServiceLoader} makes shares it.
 */
final class OneDnnRuntime {
    static final MemoryTracker TRACKER = new MemoryTracker();

    private static OneDnnRuntime instance;

    final engine engine;
    final stream stream;
    final OneDnnVectors vectors;

    private OneDnnRuntime() {
        this.engine = new engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
        this.stream = new stream(engine);
        // Held for the life of the process: a PointerScope open on the creating thread must not free them.
        engine.retainReference();
        stream.retainReference();
        this.vectors = new OneDnnVectors(this);
    }

    /** The runtime; throws with the reason when the preset cannot load here. */
    static synchronized OneDnnRuntime get() {
        if (instance == null) {
            Availability a = OneDnnAvailability.get();
            if (!a.available()) {
                throw new IllegalStateException("backend 'onednn' cannot run here: " + a.reason());
            }
            instance = new OneDnnRuntime();
        }
        return instance;
    }
}
