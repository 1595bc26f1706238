package io.batchwise.cli;

import io.batchwise.Graph;
import io.batchwise.Shape;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Init;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import java.util.Locale;

/**
 * {@code --layers}: a small sequential model, items separated by commas, then a Dense layer to the classes' logits.
 * <ul>
 * <li>{@code dense:N}: Dense N + ReLU (any input is read flat);</li>
 * <li>{@code conv:C} or {@code conv:CxK}: convolution K x K (default 3), C channels, stride 1, padding K/2 (the size
 *     kept for odd K) + ReLU;</li>
 * <li>{@code pool} or {@code pool:K}: max-pool K x K (default 2), stride K;</li>
 * <li>{@code gap}: global average pool {@code (C, H, W) -> (C)}; {@code bn}: BatchNorm; {@code dropout:P};</li>
 * <li>{@code linear}: no hidden layer (softmax regression), alone.</li>
 * </ul>
 * Weights Glorot-uniform, biases zero, as the built-in mlp and lenet. Shapes are checked when the graph is built.
 */
final class ModelDescription {
    /** For {@code (F)} inputs. */
    static final String DEFAULT_TABLE = "dense:128,dense:64";
    /** For {@code (C, H, W)} inputs. */
    static final String DEFAULT_IMAGE = "conv:16,pool,conv:32,pool,dense:64";

    private ModelDescription() {
    }

    /** The default description for samples of {@code shape}. */
    static String forShape(Shape shape) {
        return shape.rank() == 3 ? DEFAULT_IMAGE : DEFAULT_TABLE;
    }

    /** The graph {@code description} describes, from {@code input} to {@code classes} logits. */
    static Graph build(String description, Shape input, int classes) {
        Graph.Builder g = Graph.builder().input("x", input);
        String d = description.trim().toLowerCase(Locale.ROOT);
        int k = 0;
        if (!d.equals("linear")) {
            for (String raw : d.split(",", -1)) {
                String item = raw.trim();
                String[] p = item.split(":", -1);
                k++;
                if (p.length > (p[0].equals("gap") || p[0].equals("bn") ? 1 : 2)) {
                    throw new IllegalArgumentException("'" + item + "' has too many arguments");
                }
                try {
                    switch (p[0]) {
                        case "dense" -> g.then("fc" + k, new Dense(positive(p, 1, item), true, Init.glorotUniform(), Init.zeros()))
                                .then("relu" + k, new ReLU());
                        case "conv" -> {
                            String[] ck = arg(p, item).split("x", -1);
                            int channels = positive(ck, 0, item);
                            int kernel = ck.length > 1 ? positive(ck, 1, item) : 3;
                            if (ck.length > 2) {
                                throw new IllegalArgumentException("'" + item + "': expected conv:C or conv:CxK");
                            }
                            g.then("conv" + k, Conv2d.of(channels, kernel).padding(kernel / 2).withInit(Init.glorotUniform(), Init.zeros()))
                                    .then("relu" + k, new ReLU());
                        }
                        case "pool" -> g.then("pool" + k, MaxPool2d.of(p.length > 1 ? positive(p, 1, item) : 2));
                        case "gap" -> g.then("gap" + k, new GlobalAvgPool2d());
                        case "bn" -> g.then("bn" + k, new BatchNorm());
                        case "dropout" -> g.then("dropout" + k, new Dropout(Float.parseFloat(arg(p, item))));
                        default -> throw new IllegalArgumentException("'" + item + "' is not a layer: dense:N, conv:C[xK], pool[:K],"
                                + " gap, bn, dropout:P (or linear alone)");
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + item + "': " + e.getMessage());
                }
            }
        }
        g.then("out", new Dense(classes, true, Init.glorotUniform(), Init.zeros()));
        return g.build();
    }

    private static String arg(String[] p, String item) {
        if (p.length < 2 || p[1].isEmpty()) {
            throw new IllegalArgumentException("'" + item + "' needs a value after ':'");
        }
        return p[1];
    }

    private static int positive(String[] p, int i, String item) {
        if (p.length <= i || p[i].isEmpty()) {
            throw new IllegalArgumentException("'" + item + "' needs a number");
        }
        int v = Integer.parseInt(p[i]);
        if (v < 1) {
            throw new IllegalArgumentException("'" + item + "': " + v + " is not positive");
        }
        return v;
    }
}
