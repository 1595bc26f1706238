package io.batchwise.spark;

import io.batchwise.Graph;
import java.io.Serializable;
import java.util.function.Supplier;

/**
 * Builds the graph to train, on the driver and again in every executor: a graph is a tree of Java objects that
 * does not travel, its recipe does. A method reference such as {@code Models::lenet} is one (the lambda is
 * serialized, the class must be on the executors' class path). Each call must build the same graph.
 */
@FunctionalInterface
public interface GraphFactory extends Supplier<Graph>, Serializable {
}
