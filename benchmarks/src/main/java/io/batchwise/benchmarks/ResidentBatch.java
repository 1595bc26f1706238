package io.batchwise.benchmarks;

import io.batchwise.Shape;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.Targets;
import io.batchwise.train.Dataset;
import io.batchwise.train.InMemoryDataset;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * One batch that, once written into a trainer's input tensor, stays there: {@link TrainingStepBenchmark#residentStep}
 * leaves out the trainer's per-step batch copy as {@link DirectLoop#step} does, so the two measure the same work and
 * their ratio is the Java layer's cost without the data movement. Only for a benchmark that trains on the same samples
 * every step: any other request is refused.
 */
final class ResidentBatch implements Dataset {
    private final InMemoryDataset data;
    private final Set<Tensor> filled = Collections.newSetFromMap(new IdentityHashMap<>());
    private int[] batch; // the sample indices the tensors hold

    ResidentBatch(InMemoryDataset data) {
        this.data = data;
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public Shape sampleShape() {
        return data.sampleShape();
    }

    @Override
    public void copyInputs(int[] indices, int from, int count, float[] dst) {
        data.copyInputs(indices, from, count, dst);
    }

    @Override
    public void copyInputs(int[] indices, int from, int count, Tensor dst, float[] staging) {
        int[] wanted = Arrays.copyOfRange(indices, from, from + count);
        if (batch == null) {
            batch = wanted;
        } else if (!Arrays.equals(batch, wanted)) {
            throw new IllegalStateException("a resident batch holds samples " + Arrays.toString(batch) + ", asked for "
                    + Arrays.toString(wanted));
        }
        if (filled.add(dst)) {
            data.copyInputs(indices, from, count, dst, staging);
        }
    }

    @Override
    public Targets targets(int[] indices, int from, int count) {
        return data.targets(indices, from, count);
    }
}
