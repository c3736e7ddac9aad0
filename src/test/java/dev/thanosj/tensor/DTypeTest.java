package dev.thanosj.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * DType: names, sizes, little-endian element access at any alignment, and the float32 ↔ bfloat16/float16
 * conversions (exhaustive round trips, round-to-nearest-even checked against exact neighbours, ties, NaN,
 * signed zeros, subnormals, overflow).
 */
class DTypeTest {

    @Test
    void parsesSafetensorsNamesInAnyCase() {
        assertEquals(DType.F32, DType.parse("F32"));
        assertEquals(DType.BF16, DType.parse("bf16"));
        assertEquals(DType.F16, DType.parse("F16"));
        assertNull(DType.parse("F64"));
        assertNull(DType.parse("I8"));
        assertEquals(4, DType.F32.byteSize());
        assertEquals(2, DType.BF16.byteSize());
        assertEquals(2, DType.F16.byteSize());
    }

    @Test
    void everyBf16ValueRoundTripsExactly() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short b = (short) bits;
            float f = DType.bf16ToFloat(b);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(f))), Integer.toHexString(bits));
            } else if (DType.floatToBf16(f) != b) {
                fail("bf16 " + Integer.toHexString(bits) + " -> " + f + " -> "
                        + Integer.toHexString(DType.floatToBf16(f) & 0xffff));
            }
        }
    }

    @Test
    void everyF16ValueRoundTripsExactly() {
        MemorySegment s = Arena.ofAuto().allocate(2);
        for (int bits = 0; bits < 0x10000; bits++) {
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, (short) bits);
            float f = DType.F16.read(s, 0);
            DType.F16.write(s, 0, f);
            short back = s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Float.float16ToFloat(back)));
            } else {
                assertEquals((short) bits, back, Integer.toHexString(bits));
            }
        }
    }

    @Test
    void bf16RoundsToNearestWithTiesToEven() {
        qt().withExamples(20000).forAll(integers().all()).checkAssert(bits -> {
            float f = Float.intBitsToFloat(bits);
            if (Float.isNaN(f) || Float.isInfinite(f)) {
                return;
            }
            float rounded = DType.bf16ToFloat(DType.floatToBf16(f));
            assertNearestEven(f, rounded, bits & 0xffff0000, 16);
        });
    }

    @Test
    void f16RoundsToNearestWithTiesToEven() {
        // Positive floats from 2⁻³¹ (far below the f16 subnormals) to 2¹⁶ (past the largest finite f16).
        qt().withExamples(20000).forAll(integers().between(0x3000_0000, 0x4780_0000)).checkAssert(bits -> {
            float f = Float.intBitsToFloat(bits);
            short h = Float.floatToFloat16(f);
            float rounded = Float.float16ToFloat(h);
            if (Float.isInfinite(rounded)) {
                assertTrue(f >= 65520f, () -> f + " overflowed");
                return;
            }
            double d = Math.abs((double) f - rounded);
            double dAbove = Math.abs((double) f - Float.float16ToFloat((short) (h + 1)));
            double dBelow = h == 0 ? Double.POSITIVE_INFINITY : Math.abs((double) f - Float.float16ToFloat((short) (h - 1)));
            assertTrue(d <= dAbove && d <= dBelow, () -> f + " -> " + rounded + " is not the nearest f16");
            if (d == dAbove || d == dBelow) {
                assertEquals(0, h & 1, () -> f + " is a tie and " + rounded + " is not even");
            }
        });
    }

    /**
     * {@code rounded} must be the representable neighbour of {@code f} nearest to it (truncated is the one
     * toward zero, {@code dropped} the number of mantissa bits the format drops), the even one on a tie.
     */
    private static void assertNearestEven(float f, float rounded, int truncatedBits, int dropped) {
        float low = Float.intBitsToFloat(truncatedBits);
        float high = Float.intBitsToFloat(truncatedBits + (1 << dropped));
        // Past the largest finite value the next neighbour is infinity, which IEEE rounding treats as ±2¹²⁸.
        double highValue = Float.isInfinite(high) ? Math.copySign(0x1p128, high) : high;
        double dLow = Math.abs((double) f - low);
        double dHigh = Math.abs((double) f - highValue);
        float expected;
        if (dLow < dHigh) {
            expected = low;
        } else if (dHigh < dLow) {
            expected = high;
        } else {
            expected = ((truncatedBits >>> dropped) & 1) == 0 ? low : high;
        }
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(rounded),
                () -> Float.toHexString(f) + " rounded to " + Float.toHexString(rounded));
    }

    @Test
    void bf16TiesAndEdgeCases() {
        assertEquals((short) 0x3f80, DType.floatToBf16(Float.intBitsToFloat(0x3f80_8000)), "tie, even below");
        assertEquals((short) 0x3f82, DType.floatToBf16(Float.intBitsToFloat(0x3f81_8000)), "tie, even above");
        assertEquals((short) 0x3f81, DType.floatToBf16(Float.intBitsToFloat(0x3f80_8001)), "just above a tie");
        assertEquals((short) 0x3f80, DType.floatToBf16(Float.intBitsToFloat(0x3f80_7fff)), "just below a tie");
        assertEquals((short) 0xbf82, DType.floatToBf16(Float.intBitsToFloat(0xbf81_8000)), "negative tie");
        assertEquals((short) 0x7f80, DType.floatToBf16(Float.MAX_VALUE), "overflows to +inf");
        assertEquals((short) 0x7f80, DType.floatToBf16(Float.intBitsToFloat(0x7f7f_8000)), "tie with 2^128: +inf");
        assertEquals((short) 0x7f7f, DType.floatToBf16(Float.intBitsToFloat(0x7f7f_7fff)), "largest finite bf16");
        assertEquals((short) 0xff80, DType.floatToBf16(-Float.MAX_VALUE), "overflows to -inf");
        assertEquals((short) 0x7f80, DType.floatToBf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0x8000, DType.floatToBf16(-0f), "negative zero keeps its sign");
        assertEquals((short) 0x0000, DType.floatToBf16(Float.MIN_VALUE), "the smallest subnormal rounds to 0");
        assertEquals((short) 0x0002, DType.floatToBf16(Float.intBitsToFloat(0x0001_8000)), "subnormal tie, even above");
        assertEquals((short) 0x0002, DType.floatToBf16(Float.intBitsToFloat(0x0002_8000)), "subnormal tie, even below");
        assertEquals(Float.intBitsToFloat(0x0001_0000), DType.bf16ToFloat((short) 1), "bf16 subnormal");
    }

    @Test
    void bf16NaNStaysAQuietNaNWithItsSign() {
        short quiet = DType.floatToBf16(Float.NaN);
        assertTrue(Float.isNaN(DType.bf16ToFloat(quiet)));
        // A signalling NaN whose payload lives only in the dropped bits must not turn into infinity.
        short fromLowPayload = DType.floatToBf16(Float.intBitsToFloat(0x7f80_0001));
        assertTrue(Float.isNaN(DType.bf16ToFloat(fromLowPayload)), Integer.toHexString(fromLowPayload));
        short negative = DType.floatToBf16(Float.intBitsToFloat(0xff80_0001));
        assertTrue(Float.isNaN(DType.bf16ToFloat(negative)));
        assertEquals(0x8000, negative & 0x8000, "sign kept");
        assertEquals(0x0040, fromLowPayload & 0x0040, "quiet bit set");
    }

    @Test
    void f16TiesSubnormalsAndOverflow() {
        assertEquals(1f, roundF16(1f + 0x1p-11f), "tie, even below");
        assertEquals(1f + 0x1p-9f, roundF16(1f + 3 * 0x1p-11f), "tie, even above");
        assertEquals(0x1p-24f, roundF16(0x1p-24f), "smallest f16 subnormal");
        assertEquals(0f, roundF16(0x1p-25f), "tie between 0 and the smallest subnormal");
        assertEquals(0x1p-24f, roundF16(3 * 0x1p-26f), "above that tie");
        assertEquals(65504f, roundF16(65519f), "largest finite");
        assertEquals(Float.POSITIVE_INFINITY, roundF16(65520f), "tie with 65536 rounds to even: infinity");
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(roundF16(-0f)));
        assertTrue(Float.isNaN(roundF16(Float.NaN)));
    }

    private static float roundF16(float f) {
        MemorySegment s = Arena.ofAuto().allocate(3).asSlice(1);
        DType.F16.write(s, 0, f);
        return DType.F16.read(s, 0);
    }

    @Test
    void elementsAreLittleEndianAtAnyAlignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(16).asSlice(1, 12);
            DType.F32.write(s, 1, 1f);
            assertEquals((byte) 0x00, s.get(ValueLayout.JAVA_BYTE, 4));
            assertEquals((byte) 0x80, s.get(ValueLayout.JAVA_BYTE, 6));
            assertEquals((byte) 0x3f, s.get(ValueLayout.JAVA_BYTE, 7));
            assertEquals(1f, DType.F32.read(s, 1));
            DType.BF16.write(s, 0, 1f);
            assertEquals((byte) 0x80, s.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals((byte) 0x3f, s.get(ValueLayout.JAVA_BYTE, 1));
            assertEquals(1f, DType.BF16.read(s, 0));
            DType.F16.write(s, 5, -2f);
            assertEquals((byte) 0x00, s.get(ValueLayout.JAVA_BYTE, 10));
            assertEquals((byte) 0xc0, s.get(ValueLayout.JAVA_BYTE, 11));
            assertEquals(-2f, DType.F16.read(s, 5));
        }
    }
}
