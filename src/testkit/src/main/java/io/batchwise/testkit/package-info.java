/**
 * The conformance suites every backend passes, written once: subclass {@link io.batchwise.testkit.BackendConformanceSuite}
 * (layers and losses against the float64 reference), {@link io.batchwise.testkit.PlannerSuite},
 * {@link io.batchwise.testkit.TrainingSuite} and {@link io.batchwise.testkit.OutOfMemorySuite} with the backend under
 * test; {@link io.batchwise.testkit.FaultInjectingBackend} makes allocations fail on demand.
 */
package io.batchwise.testkit;
