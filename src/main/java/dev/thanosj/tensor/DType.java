package dev.thanosj.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;

/** Storage types of model files, little-endian, with conversion to and from float32. */
public enum DType {
    F32(4),
    BF16(2),
    F16(2);

    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Parses a safetensors dtype name ("F32", "BF16", "F16"); null when it is none of them. */
    public static DType parse(String name) {
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "F32" -> F32;
            case "BF16" -> BF16;
            case "F16" -> F16;
            default -> null;
        };
    }

    /** Reads element {@code index} of {@code storage} (this dtype, little-endian) as a float. */
    public float read(MemorySegment storage, long index) {
        return switch (this) {
            case F32 -> storage.get(LE_FLOAT, index * 4);
            case BF16 -> bf16ToFloat(storage.get(LE_SHORT, index * 2));
            case F16 -> Float.float16ToFloat(storage.get(LE_SHORT, index * 2));
        };
    }

    /** Writes {@code value}, rounded to this dtype (nearest, ties to even), as element {@code index}. */
    public void write(MemorySegment storage, long index, float value) {
        switch (this) {
            case F32 -> storage.set(LE_FLOAT, index * 4, value);
            case BF16 -> storage.set(LE_SHORT, index * 2, floatToBf16(value));
            case F16 -> storage.set(LE_SHORT, index * 2, Float.floatToFloat16(value));
        }
    }

    /** bfloat16 bits to float: the upper half of a float32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float to bfloat16 bits, rounding to nearest with ties to even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
