/**
 * The {@code batchwise} command ({@link io.batchwise.cli.Main}): {@code train}, {@code plan}, {@code advise},
 * {@code predict} and {@code export}, on Fashion-MNIST or on the user's own CSV table or image folders. Everything
 * but {@code Main} is package-private; {@code src/cli/README.md} documents the flags.
 */
package io.batchwise.cli;
