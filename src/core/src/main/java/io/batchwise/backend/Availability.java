package io.batchwise.backend;

/** Whether a backend can run on this machine; {@code reason} says why not (or what it found). */
public record Availability(boolean available, String reason) {
    public static Availability yes(String what) {
        return new Availability(true, what);
    }

    public static Availability no(String why) {
        return new Availability(false, why);
    }
}
