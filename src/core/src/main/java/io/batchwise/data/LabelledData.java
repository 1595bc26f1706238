package io.batchwise.data;

import io.batchwise.train.InMemoryDataset;
import java.util.List;
import java.util.Objects;

/**
 * What a loader read: the samples with their class labels, the class names by label, and a name for each input
 * feature (CSV: the header's names, or {@code column N}; images: empty, the input is {@code (C, H, W)}).
 *
 * @param dataset  samples and labels; labels are indices into {@code classes}
 * @param classes  the class names, in label order
 * @param features the input features' names, in input order (CSV only)
 */
public record LabelledData(InMemoryDataset dataset, List<String> classes, List<String> features) {
    public LabelledData {
        Objects.requireNonNull(dataset);
        classes = List.copyOf(classes);
        features = List.copyOf(features);
    }
}
