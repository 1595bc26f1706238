package io.batchwise.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BudgetTest {
    @Test
    void parsesBinaryAndDecimalSizes() {
        assertEquals(64L << 20, Budget.parse("64MiB").bytes());
        assertEquals(64L << 20, Budget.parse("64m").bytes());
        assertEquals((long) (1.5 * (1L << 30)), Budget.parse("1.5 GiB").bytes());
        assertEquals(500_000_000L, Budget.parse("500MB").bytes());
        assertEquals(1048576L, Budget.parse("1048576").bytes());
        assertEquals(2L << 40, Budget.parse("2TiB").bytes());
    }

    @Test
    void rejectsWhatIsNotASize() {
        var e = assertThrows(IllegalArgumentException.class, () -> Budget.parse("lots"));
        assertTrue(e.getMessage().contains("'lots'") && e.getMessage().contains("64MiB"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Budget.parse("-5MiB"));
        assertThrows(IllegalArgumentException.class, () -> Budget.parse("0"));
    }

    @Test
    void hostBudgetIsBelowPhysicalMemoryLessTheHeap() {
        Budget b = Budget.host(64L << 20);
        long physical = Budget.physicalMemory();
        assertTrue(b.bytes() <= physical - Runtime.getRuntime().maxMemory() - (64L << 20));
        assertTrue(b.bytes() <= Budget.cgroupLimit());
        assertTrue(b.source().startsWith("host: min(physical"), b.source());
        var e = assertThrows(IllegalStateException.class, () -> Budget.host(physical));
        assertTrue(e.getMessage().contains("no memory left for tensors"), e.getMessage());
    }

    @Test
    void humanSizes() {
        assertEquals("512 B", Budget.human(512));
        assertEquals("64.0 MiB", Budget.human(64L << 20));
        assertEquals("1.5 GiB", Budget.human(3L << 29));
    }
}
