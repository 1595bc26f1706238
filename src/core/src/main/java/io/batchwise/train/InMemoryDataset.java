package io.batchwise.train;

import io.batchwise.Shape;
import io.batchwise.backend.HostTensor;
import io.batchwise.backend.Tensor;
import io.batchwise.loss.Targets;
import java.util.Objects;

/** A dataset held in Java arrays: inputs sample-major, with class labels or target values. */
public final class InMemoryDataset implements Dataset {
    private final float[] inputs;
    private final Shape sampleShape;
    private final int[] labels;
    private final float[] values;
    private final Shape targetShape;
    private final int size;

    private InMemoryDataset(float[] inputs, Shape sampleShape, int[] labels, float[] values, Shape targetShape) {
        this.inputs = Objects.requireNonNull(inputs);
        this.sampleShape = Objects.requireNonNull(sampleShape);
        long per = sampleShape.size();
        if (inputs.length % per != 0) {
            throw new IllegalArgumentException(inputs.length + " input values are not a whole number of samples of shape " + sampleShape);
        }
        this.size = (int) (inputs.length / per);
        this.labels = labels;
        this.values = values;
        this.targetShape = targetShape;
        int targets = labels != null ? labels.length : (int) (values.length / targetShape.size());
        if (targets != size || (values != null && values.length % targetShape.size() != 0)) {
            throw new IllegalArgumentException("dataset has " + size + " samples of shape " + sampleShape + " but "
                    + (labels != null ? labels.length + " labels" : values.length + " target values of shape " + targetShape));
        }
    }

    /** Classification data: {@code inputs} of {@code labels.length} samples of {@code sampleShape}. */
    public static InMemoryDataset labelled(float[] inputs, Shape sampleShape, int[] labels) {
        return new InMemoryDataset(inputs, sampleShape, labels.clone(), null, null);
    }

    /** Regression data: {@code targets} holds {@code targetShape.size()} values per sample. */
    public static InMemoryDataset regression(float[] inputs, Shape sampleShape, float[] targets, Shape targetShape) {
        return new InMemoryDataset(inputs, sampleShape, null, targets.clone(), targetShape);
    }

    /** The first {@code n} samples (no copy of the arrays beyond what the view needs). */
    public InMemoryDataset head(int n) {
        if (n > size) {
            throw new IllegalArgumentException("asked for " + n + " samples of a dataset of " + size);
        }
        int per = sampleShape.sizeAsInt();
        float[] x = java.util.Arrays.copyOf(inputs, n * per);
        if (labels != null) {
            return new InMemoryDataset(x, sampleShape, java.util.Arrays.copyOf(labels, n), null, null);
        }
        return new InMemoryDataset(x, sampleShape, null, java.util.Arrays.copyOf(values, n * targetShape.sizeAsInt()), targetShape);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Shape sampleShape() {
        return sampleShape;
    }

    @Override
    public void copyInputs(int[] indices, int from, int count, float[] dst) {
        int per = sampleShape.sizeAsInt();
        for (int i = 0; i < count; i++) {
            System.arraycopy(inputs, indices[from + i] * per, dst, i * per, per);
        }
    }

    /** Into host memory: one copy per sample straight from the data set's array, no staging copy of the batch. */
    @Override
    public void copyInputs(int[] indices, int from, int count, Tensor dst, float[] staging) {
        if (!(dst instanceof HostTensor)) {
            Dataset.super.copyInputs(indices, from, count, dst, staging);
            return;
        }
        int per = sampleShape.sizeAsInt();
        for (int i = 0; i < count; i++) {
            dst.write((long) i * per, inputs, indices[from + i] * per, per);
        }
    }

    @Override
    public Targets targets(int[] indices, int from, int count) {
        if (labels != null) {
            int[] y = new int[count];
            for (int i = 0; i < count; i++) {
                y[i] = labels[indices[from + i]];
            }
            return Targets.labels(y);
        }
        int per = targetShape.sizeAsInt();
        float[] t = new float[count * per];
        for (int i = 0; i < count; i++) {
            System.arraycopy(values, indices[from + i] * per, t, i * per, per);
        }
        return Targets.values(targetShape, t);
    }
}
