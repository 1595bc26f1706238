/**
 * The oneDNN CPU backend, {@link io.batchwise.onednn.OneDnnBackend} ({@code onednn}): every layer as oneDNN primitives
 * through the JavaCPP preset. Found by {@link java.util.ServiceLoader}; its one public type is the provider, everything
 * else is package-private.
 */
package io.batchwise.onednn;
