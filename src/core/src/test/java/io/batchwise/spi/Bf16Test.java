package io.batchwise.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Bf16Test {
    private static float bits(int b) {
        return Float.intBitsToFloat(b);
    }

    /** Round to nearest, ties to even, on the 16 dropped bits; exact values pass unchanged. */
    @Test
    void roundsToNearestEven() {
        assertEquals(1f, Bf16.round(1f));
        assertEquals(bits(0x3f81_0000), Bf16.round(bits(0x3f80_8001))); // above half: up
        assertEquals(bits(0x3f80_0000), Bf16.round(bits(0x3f80_7fff))); // below half: down
        assertEquals(bits(0x3f80_0000), Bf16.round(bits(0x3f80_8000))); // tie, even below: down
        assertEquals(bits(0x3f82_0000), Bf16.round(bits(0x3f81_8000))); // tie, odd below: up to even
        assertEquals(bits(0xbf82_0000), Bf16.round(bits(0xbf81_8000))); // the same with the sign
        assertEquals(1f / 3, Bf16.round(1f / 3), 1f / 3 / 256);          // within u = 2^-8
    }

    @Test
    void specialValues() {
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE)); // rounds past the largest bf16
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.round(Float.NEGATIVE_INFINITY));
        assertEquals(0x8000, Bf16.fromFloat(-0f) & 0xffff);
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
        // A NaN whose payload sits only in the dropped bits stays a NaN (not infinity): the quiet bit is set.
        assertTrue(Float.isNaN(Bf16.round(bits(0x7f80_0001))));
        assertEquals(bits(0x0001_0000), Bf16.round(bits(0x0001_0000))); // a subnormal bf16 is kept, not flushed
    }
}
