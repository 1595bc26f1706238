package io.batchwise.train;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * When a {@link Trainer} writes checkpoints while it fits, and how many it keeps.
 *
 * <p>The newest checkpoint is always {@code file} (replaced atomically, so there is a complete one at
 * every moment). With {@code keep > 1} each checkpoint is also linked as {@code step-<N>.ckpt} beside
 * it and the newest {@code keep} of those are kept. A checkpoint is written after the optimizer step
 * at which {@code everySteps} steps or {@code every} wall-clock time have passed since the last one
 * (0 switches either off), at the end of every epoch when {@code atEpochEnd}, when {@link
 * Trainer#requestStop() a stop} ends {@code fit}, and by {@link Trainer#checkpoint()}.
 *
 * @param file       the newest checkpoint
 * @param everySteps optimizer steps between checkpoints; 0: not by steps
 * @param every      time between checkpoints; {@link Duration#ZERO}: not by time
 * @param keep       checkpoints kept, at least 1
 * @param atEpochEnd whether {@code fit} also writes one at the end of each epoch
 */
public record CheckpointPolicy(Path file, long everySteps, Duration every, int keep, boolean atEpochEnd) {
    public CheckpointPolicy {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(every, "every");
        if (everySteps < 0) {
            throw new IllegalArgumentException("checkpoint interval must be >= 0 steps, got " + everySteps);
        }
        if (every.isNegative()) {
            throw new IllegalArgumentException("checkpoint interval must be >= 0, got " + every);
        }
        if (keep < 1) {
            throw new IllegalArgumentException("checkpoints kept must be at least 1, got " + keep);
        }
    }

    /** Checkpoints into {@code file} at the end of every epoch and on a stop; none in between, one kept. */
    public static CheckpointPolicy to(Path file) {
        return new CheckpointPolicy(file, 0, Duration.ZERO, 1, true);
    }

    public CheckpointPolicy everySteps(long n) {
        return new CheckpointPolicy(file, n, every, keep, atEpochEnd);
    }

    public CheckpointPolicy every(Duration d) {
        return new CheckpointPolicy(file, everySteps, d, keep, atEpochEnd);
    }

    public CheckpointPolicy keep(int k) {
        return new CheckpointPolicy(file, everySteps, every, k, atEpochEnd);
    }

    public CheckpointPolicy atEpochEnd(boolean b) {
        return new CheckpointPolicy(file, everySteps, every, keep, b);
    }

    /** Whether a checkpoint is due after {@code steps} steps and {@code nanos} nanoseconds since the last one. */
    boolean due(long steps, long nanos) {
        return steps > 0 && ((everySteps > 0 && steps >= everySteps) || (!every.isZero() && nanos >= every.toNanos()));
    }

    /** The name a kept checkpoint of step {@code step} has, beside {@link #file}. */
    Path kept(long step) {
        return file.resolveSibling(String.format(java.util.Locale.ROOT, "step-%09d.ckpt", step));
    }

    private static long stepOf(Path kept) {
        String name = kept.getFileName().toString();
        return Long.parseLong(name.substring(5, name.length() - 5)); // "step-" N ".ckpt"
    }

    /** Removes the kept checkpoints beyond the newest {@code keep} (names sort by step). */
    void prune() throws java.io.IOException {
        Path dir = file.toAbsolutePath().getParent();
        java.util.List<Path> kept;
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
            kept = files.filter(p -> p.getFileName().toString().matches("step-\\d{9,}\\.ckpt"))
                    .sorted(java.util.Comparator.comparingLong(CheckpointPolicy::stepOf)).toList();
        }
        for (int i = 0; i < kept.size() - keep; i++) {
            java.nio.file.Files.deleteIfExists(kept.get(i));
        }
    }
}
