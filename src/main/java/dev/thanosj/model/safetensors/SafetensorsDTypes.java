package dev.thanosj.model.safetensors;

import java.util.Map;

/**
 * Element sizes, in bits, of every dtype name the safetensors format defines. Tensors of any of these
 * dtypes may be read and copied byte-identical; only F32, BF16 and F16 convert to float32.
 */
final class SafetensorsDTypes {
    private static final Map<String, Integer> BITS = Map.ofEntries(
            Map.entry("BOOL", 8), Map.entry("U8", 8), Map.entry("I8", 8),
            Map.entry("F8_E5M2", 8), Map.entry("F8_E4M3", 8), Map.entry("F8_E8M0", 8),
            Map.entry("F4", 4), Map.entry("F6_E2M3", 6), Map.entry("F6_E3M2", 6),
            Map.entry("I16", 16), Map.entry("U16", 16), Map.entry("F16", 16), Map.entry("BF16", 16),
            Map.entry("I32", 32), Map.entry("U32", 32), Map.entry("F32", 32),
            Map.entry("I64", 64), Map.entry("U64", 64), Map.entry("F64", 64), Map.entry("C64", 64));

    private SafetensorsDTypes() {
    }

    /** Bits per element of the dtype called {@code name} (case-sensitive), or -1 when there is none. */
    static int bits(String name) {
        return BITS.getOrDefault(name, -1);
    }

    /**
     * Bytes that {@code elements} elements of a {@code bits}-bit dtype occupy, or -1 when they do not fill
     * whole bytes (sub-byte dtypes pack elements).
     *
     * @throws ArithmeticException on overflow
     */
    static long byteSize(long elements, int bits) {
        long totalBits = Math.multiplyExact(elements, (long) bits);
        return totalBits % 8 == 0 ? totalBits / 8 : -1;
    }

    /**
     * The number of elements of {@code shape} (1 for a scalar).
     *
     * @throws ArithmeticException on overflow
     */
    static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
