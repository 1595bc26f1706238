package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;

/**
 * Bytes allocated on the heap by this thread (HotSpot's counter), for fuzz tests: a corrupt length field must be refused
 * before its size is allocated. Where the JVM has no such counter the check passes.
 */
public final class Allocation {
    /** More than the small files of the fuzz tests need, far less than any corrupt length asks for. */
    private static final long LIMIT = 1 << 20;
    private static final com.sun.management.ThreadMXBean THREADS =
            ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported()
                    ? t : null;

    private Allocation() {
    }

    /** This thread's allocated bytes so far (0 without the counter). */
    public static long bytes() {
        return THREADS == null ? 0 : THREADS.getCurrentThreadAllocatedBytes();
    }

    /** Fails when this thread allocated more than the limit since {@code since} ({@link #bytes()}). */
    public static void assertSmall(long since, String where) {
        long n = bytes() - since;
        assertTrue(n <= LIMIT, where + ": allocated " + n + " bytes reading a small file");
    }
}
