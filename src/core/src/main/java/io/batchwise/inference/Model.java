package io.batchwise.inference;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A trained model: a graph with its weights and BatchNorm running statistics in one backend's memory, and no
 * optimizer state. It owns its {@link Parameters} (a copy, never the trainer's) and frees them on {@link #close()}.
 *
 * <pre>{@code
 * try (Model m = Model.of(trainer.parameters())) {
 *     m.save(Path.of("model.bw"));
 * }
 * try (Model m = Model.load(Path.of("model.bw"), Backends.get("onednn"));
 *      Predictor p = m.predictor()) {
 *     float[] logits = p.predict(images, n);
 * }
 * }</pre>
 *
 * The file format is described in {@code ModelFile}: a versioned header, the graph (every node's layer spec with its
 * hyper-parameters, name, inputs and output shape), the weights and state in logical order, and a CRC32.
 */
public final class Model implements AutoCloseable {
    private final Parameters parameters;
    /** Predictors bound to the parameters, closed before them. */
    private final java.util.Set<Predictor> predictors = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private Model(Parameters parameters) {
        this.parameters = parameters;
    }

    /** A copy of {@code source}'s graph, weights and running statistics on {@code backend} (any backend, any order). */
    public static Model of(Parameters source, Backend backend) {
        Objects.requireNonNull(source, "source");
        return create(source.graph(), backend, p -> p.copyFrom(source));
    }

    /** A copy of {@code source} on its own backend. */
    public static Model of(Parameters source) {
        return of(source, source.backend());
    }

    /**
     * Reads {@code file} onto {@code backend}. The file is read whole and checked (header, checksum, every field,
     * the graph rebuilt and its shapes re-inferred) before any memory is allocated; a file that is not a model file,
     * or is truncated or corrupt, is refused with an IOException whose one-line message names the file and an offset.
     */
    public static Model load(Path file, Backend backend) throws IOException {
        ModelFile.Contents c = ModelFile.read(file);
        return create(c.graph(), backend, p -> {
            // A graph without parameters (or state) still has one-element buffers: tensors are never empty.
            p.writeLogicalValues(Arrays.copyOf(c.values(), p.logicalValuesLength()));
            p.writeLogicalState(Arrays.copyOf(c.state(), p.logicalStateLength()));
        });
    }

    private static Model create(Graph graph, Backend backend, java.util.function.Consumer<Parameters> fill) {
        Objects.requireNonNull(backend, "backend");
        Parameters p = backend.createParameters(graph, DataType.FLOAT32);
        try {
            fill.accept(p);
            return new Model(p);
        } catch (RuntimeException | Error e) {
            p.close();
            throw e;
        }
    }

    /** Writes the model to {@code file} atomically: a reader, or a crash at any byte, sees the old file or the new. */
    public void save(Path file) throws IOException {
        save(parameters, file);
    }

    /**
     * Writes {@code parameters}' graph, weights and running statistics as a model file, as {@link #save(Path)} does,
     * without copying them on their backend (a trainer's, say: its memory peak stays as planned).
     */
    public static void save(Parameters parameters, Path file) throws IOException {
        ParameterLayout l = parameters.layout();
        // Without the one element a graph without parameters (or state) still has.
        float[] values = Arrays.copyOf(parameters.logicalValues(), (int) l.logicalTrainableSize());
        float[] state = Arrays.copyOf(parameters.logicalState(), (int) l.logicalStateSize());
        ModelFile.write(file, ModelFile.encode(parameters.graph(), values, state));
    }

    public Graph graph() {
        return parameters.graph();
    }

    public Backend backend() {
        return parameters.backend();
    }

    /** The weights and state; read them, or {@link Parameters#read}; writing them changes every predictor of this model. */
    public Parameters parameters() {
        return parameters;
    }

    /** A predictor with the default options (see {@link Predictor.Options#defaults()}). */
    public Predictor predictor() {
        return predictor(Predictor.Options.defaults());
    }

    /** A predictor with {@code options}; it reads this model's parameters, and closing the model closes it. */
    public Predictor predictor(Predictor.Options options) {
        Predictor p = new Predictor(this, options);
        predictors.add(p);
        return p;
    }

    void forget(Predictor p) {
        predictors.remove(p);
    }

    /** Closes this model's open predictors, then frees the parameters. */
    @Override
    public void close() {
        List.copyOf(predictors).forEach(Predictor::close);
        parameters.close();
    }
}
