/**
 * Bringing one's own data: {@link io.batchwise.data.CsvFormat} (CSV/TSV tables of numeric features and a label column),
 * {@link io.batchwise.data.ImageFolder} (one folder of images per class, decoded with {@code javax.imageio} and resized
 * and normalised by an {@link io.batchwise.data.ImageTransform}), {@link io.batchwise.data.Standardization} (mean and
 * standard deviation fitted on the training data, applied to any data), {@link io.batchwise.data.ShardedDataset} (data
 * bigger than memory, read shard by shard in an order that is a pure function of seed and epoch, so a resume is exact)
 * and {@link io.batchwise.data.PrefetchingDataset} (gathers the next micro-batch on a background thread).
 *
 * <p>Loaders check everything before training starts; a malformed file is refused with a
 * {@link io.batchwise.data.DataFormatException} naming the file, line and column.
 */
package io.batchwise.data;
