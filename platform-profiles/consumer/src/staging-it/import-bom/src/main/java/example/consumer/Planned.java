package example.consumer;

import io.batchwise.Graph;
import io.batchwise.backend.Backends;
import io.batchwise.models.Models;

/** Compiles against the API jar the staging repository served (the other Batchwise jars are resolved, not used). */
final class Planned {
    private Planned() {
    }

    static Graph model() {
        return Models.byName("lenet");
    }

    static String backends() {
        return Backends.class.getName();
    }
}
