package io.batchwise.train;

/** Which samples a BatchNorm layer's training statistics cover when a step runs as several micro-batches. */
public enum BatchNormMode {
    /**
     * Each micro-batch's own statistics ("ghost" batch norm, as PyTorch and every peer behave under
     * gradient accumulation): no extra cost; the step then equals one big batch only for graphs
     * without BatchNorm.
     */
    GHOST,
    /**
     * The effective batch's statistics, so the step equals one big batch exactly. With L BatchNorm
     * layers and k micro-batches it costs L forward sweeps to gather the statistics layer by layer, L
     * forward-and-backward sweeps to gather the backward sums layer by layer (a layer's sums depend on
     * the layers after it), then the ordinary sweep: about {@code 2L + 1} forward and {@code L + 1}
     * backward passes per micro-batch instead of one each. Only steps with k >= 2 pay it. Each
     * micro-batch must hold at least two values per channel (batch statistics are gathered from
     * micro-batches).
     */
    EXACT
}
