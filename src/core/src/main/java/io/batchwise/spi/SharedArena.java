package io.batchwise.spi;

import io.batchwise.backend.Tensor;

/** The one check of an arena a caller shares between executors ({@code Plan.bind(parameters, arena)}). */
public final class SharedArena {
    private SharedArena() {
    }

    /**
     * {@code shared} as the backend's tensor type, if it is one of at least {@code bytes} bytes; otherwise an
     * {@link IllegalArgumentException} naming the backend, the bytes needed and what was given.
     */
    public static <T extends Tensor> T require(Tensor shared, Class<T> type, String backend, long bytes) {
        if (type.isInstance(shared) && shared.bytes() >= bytes) {
            return type.cast(shared);
        }
        throw new IllegalArgumentException("a shared arena must be a " + backend + " tensor of at least " + bytes + " bytes, got "
                + (shared == null ? "null" : shared.getClass().getSimpleName() + " of " + shared.bytes() + " bytes"));
    }
}
