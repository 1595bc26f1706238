package io.batchwise.spark;

import io.batchwise.backend.Parameters;
import java.io.Serializable;

/**
 * Test hook run inside a worker task (package-private: tests fail tasks and corrupt replicas with it on purpose).
 * {@code attempt} is Spark's attempt number of the task, 0 for the first.
 */
interface TaskHook extends Serializable {
    /** After the step's weights were loaded into the worker's parameters, before they are checked. */
    default void afterLoad(long step, int partition, int attempt, Parameters worker) {
    }

    /** After the worker's share of the gradient was computed, before it is returned. */
    default void afterGradients(long step, int partition, int attempt) {
    }
}
