/**
 * Layer specifications: immutable records of hyper-parameters ({@link io.batchwise.layer.Dense},
 * {@link io.batchwise.layer.Conv2d}, pooling, activations, {@link io.batchwise.layer.BatchNorm},
 * {@link io.batchwise.layer.Dropout}, {@link io.batchwise.layer.Add}, {@link io.batchwise.layer.Concat}, ...), with
 * their parameters' {@link io.batchwise.layer.ParamSpec}s and initialisers ({@link io.batchwise.layer.Init}). A
 * layer's values live in a backend's memory, never in the spec; shapes are per sample.
 */
package io.batchwise.layer;
