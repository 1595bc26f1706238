package io.batchwise.cli;

import io.batchwise.backend.Precision;
import picocli.CommandLine.Option;

/** {@code --precision}, shared by {@code train}, {@code plan} and {@code advise}. */
final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "fp32|bf16", defaultValue = "fp32",
            converter = Specs.PrecisionConverter.class,
            description = "Numeric policy: 'fp32', or 'bf16' mixed precision (bf16 activations and kernel weight copies,"
                    + " float32 master weights, gradients, optimizer state and accumulation; about half the activation"
                    + " memory, so the planner fits about twice the micro-batch). bf16 needs native CPU support"
                    + " (AVX512_BF16 or AMX) and is refused elsewhere. Default: ${DEFAULT-VALUE}.")
    Precision value;
}
