package dev.thanosj.model.onnx;

import java.util.List;
import java.util.stream.Collectors;

/**
 * An ONNX {@code TensorProto} as it lies in the file: name, element type, shape and where its bytes are.
 * The values are not copied: {@link #dataOffset()} and {@link #dataLength()} locate them in the model file
 * (little-endian, as ONNX stores {@code raw_data} and packed {@code float_data}); read them through
 * {@link OnnxModel#data(OnnxTensor)}.
 *
 * @param name     the tensor's name ("" for an attribute's anonymous tensor)
 * @param dataType ONNX {@code TensorProto.DataType} code ({@link #FLOAT} = 1, {@link #INT64} = 7, ...)
 * @param dims     the shape (empty for a scalar)
 * @param location where the values are stored
 * @param dataOffset byte offset of the values in the file, or -1 when they are not stored as contiguous bytes
 * @param dataLength byte length of the values (0 when {@code dataOffset} is -1)
 */
public record OnnxTensor(String name, int dataType, List<Long> dims, Location location, long dataOffset, long dataLength) {
    /** {@code TensorProto.DataType.FLOAT}. */
    public static final int FLOAT = 1;
    /** {@code TensorProto.DataType.INT64}. */
    public static final int INT64 = 7;

    /** Where a tensor's values live. */
    public enum Location {
        /** In {@code raw_data}: contiguous little-endian bytes in the file. */
        RAW_DATA,
        /** In packed {@code float_data}: contiguous little-endian float32 in the file, like raw data. */
        FLOAT_DATA,
        /** In a separate file ({@code data_location = EXTERNAL}); not readable here. */
        EXTERNAL,
        /** In another typed field (int64_data, string_data, unpacked floats, ...); not readable as bytes here. */
        TYPED_FIELD,
        /** Nowhere: the tensor has no values (zero elements or none given). */
        NONE
    }

    public OnnxTensor {
        dims = List.copyOf(dims);
    }

    /** True when the values are contiguous bytes in the file ({@link Location#RAW_DATA} or {@link Location#FLOAT_DATA}). */
    public boolean hasBytes() {
        return location == Location.RAW_DATA || location == Location.FLOAT_DATA;
    }

    /** Number of elements (the product of the dims; 1 for a scalar). */
    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Number of dimensions. */
    public int rank() {
        return dims.size();
    }

    /** Dimension {@code i} as an int (dims of the tensors this library reads fit in an int). */
    public int dim(int i) {
        return Math.toIntExact(dims.get(i));
    }

    /** The shape as {@code [a, b]}. */
    public String shape() {
        return dims.stream().map(String::valueOf).collect(Collectors.joining(", ", "[", "]"));
    }

    /** Bytes per element of an ONNX data type, or 0 when it has no fixed size (string) or is unknown. */
    public static int elementSize(int dataType) {
        return switch (dataType) {
            case 2, 3, 9, 17, 18, 19, 20 -> 1; // uint8, int8, bool, float8 variants
            case 4, 5, 10, 16 -> 2;            // uint16, int16, float16, bfloat16
            case 1, 6, 12 -> 4;                // float, int32, uint32
            case 7, 11, 13, 14 -> 8;           // int64, double, uint64, complex64
            case 15 -> 16;                     // complex128
            default -> 0;
        };
    }

    /** A readable name of an ONNX data type code ("FLOAT", "INT64", ..., or "type 42"). */
    public static String typeName(int dataType) {
        return switch (dataType) {
            case 1 -> "FLOAT";
            case 2 -> "UINT8";
            case 3 -> "INT8";
            case 4 -> "UINT16";
            case 5 -> "INT16";
            case 6 -> "INT32";
            case 7 -> "INT64";
            case 8 -> "STRING";
            case 9 -> "BOOL";
            case 10 -> "FLOAT16";
            case 11 -> "DOUBLE";
            case 12 -> "UINT32";
            case 13 -> "UINT64";
            case 16 -> "BFLOAT16";
            default -> "type " + dataType;
        };
    }
}
