/**
 * The reference backend, {@link io.batchwise.reference.ReferenceBackend} ({@code reference}): plain Java loops with
 * float64 accumulation, the oracle every native backend is tested against. Found by {@link java.util.ServiceLoader};
 * its one public type is the provider, everything else is package-private.
 */
package io.batchwise.reference;
