package dev.thanosj.model;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A minimal writer of ONNX protobuf messages for tests: the wire format (varints, length-delimited fields)
 * and the few messages a model needs ({@code ModelProto}, {@code GraphProto}, {@code NodeProto},
 * {@code AttributeProto}, {@code TensorProto} with {@code raw_data}, {@code ValueInfoProto}). Field numbers
 * are those of {@code onnx.proto}. Test scope only; every method returns the encoded bytes of one message.
 */
public final class OnnxProto {
    /** {@code TensorProto.DataType.FLOAT}. */
    public static final int FLOAT = 1;
    /** {@code TensorProto.DataType.INT64}. */
    public static final int INT64 = 7;

    private OnnxProto() {
    }

    // ---- ONNX messages ----

    /** A {@code ModelProto}: IR version, producer, the graph and one opset import of the default domain. */
    public static byte[] model(long irVersion, long opset, byte[] graph) {
        byte[] opsetImport = concat(stringField(1, ""), varintField(2, opset));
        return concat(varintField(1, irVersion), stringField(2, "thanosj-tests"), field(7, graph), field(8, opsetImport));
    }

    /** A {@code GraphProto}. */
    public static byte[] graph(String name, List<byte[]> nodes, List<byte[]> initializers, List<byte[]> inputs,
            List<byte[]> outputs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        nodes.forEach(n -> out.writeBytes(field(1, n)));
        out.writeBytes(stringField(2, name));
        initializers.forEach(t -> out.writeBytes(field(5, t)));
        inputs.forEach(i -> out.writeBytes(field(11, i)));
        outputs.forEach(o -> out.writeBytes(field(12, o)));
        return out.toByteArray();
    }

    /** A {@code NodeProto} of the default domain. */
    public static byte[] node(String name, String opType, List<String> inputs, List<String> outputs, byte[]... attributes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        inputs.forEach(i -> out.writeBytes(stringField(1, i)));
        outputs.forEach(o -> out.writeBytes(stringField(2, o)));
        out.writeBytes(stringField(3, name));
        out.writeBytes(stringField(4, opType));
        for (byte[] a : attributes) {
            out.writeBytes(field(5, a));
        }
        return out.toByteArray();
    }

    /** An INT attribute. */
    public static byte[] intAttribute(String name, long value) {
        return concat(stringField(1, name), varintField(3, value), varintField(20, 2));
    }

    /** An INTS attribute (unpacked, as PyTorch's exporter writes it). */
    public static byte[] intsAttribute(String name, long... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(stringField(1, name));
        for (long v : values) {
            out.writeBytes(varintField(8, v));
        }
        out.writeBytes(varintField(20, 7));
        return out.toByteArray();
    }

    /** A FLOAT attribute. */
    public static byte[] floatAttribute(String name, float value) {
        return concat(stringField(1, name), fixed32Field(2, Float.floatToRawIntBits(value)), varintField(20, 1));
    }

    /** A TENSOR attribute ({@code Constant}'s {@code value}). */
    public static byte[] tensorAttribute(String name, byte[] tensor) {
        return concat(stringField(1, name), field(5, tensor), varintField(20, 4));
    }

    /** A FLOAT {@code TensorProto} with little-endian {@code raw_data}. */
    public static byte[] floatTensor(String name, long[] dims, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return tensor(name, FLOAT, dims, b.array());
    }

    /** An INT64 {@code TensorProto} with little-endian {@code raw_data}. */
    public static byte[] int64Tensor(String name, long[] dims, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return tensor(name, INT64, dims, b.array());
    }

    /** A {@code TensorProto}: dims, data type, name (omitted when empty) and {@code raw_data}. */
    public static byte[] tensor(String name, int dataType, long[] dims, byte[] rawData) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (long d : dims) {
            out.writeBytes(varintField(1, d));
        }
        out.writeBytes(varintField(2, dataType));
        if (!name.isEmpty()) {
            out.writeBytes(stringField(8, name));
        }
        out.writeBytes(field(9, rawData));
        return out.toByteArray();
    }

    /**
     * A {@code ValueInfoProto} of a tensor: each of {@code dims} is a {@code String} (a symbolic dimension,
     * {@code dim_param}) or a {@code Number} ({@code dim_value}).
     */
    public static byte[] valueInfo(String name, int elementType, Object... dims) {
        ByteArrayOutputStream shape = new ByteArrayOutputStream();
        for (Object d : dims) {
            byte[] dim = d instanceof String s ? stringField(2, s) : varintField(1, ((Number) d).longValue());
            shape.writeBytes(field(1, dim));
        }
        byte[] tensorType = concat(varintField(1, elementType), field(2, shape.toByteArray()));
        return concat(stringField(1, name), field(2, field(1, tensorType)));
    }

    // ---- wire format ----

    /** A length-delimited field (wire type 2). */
    public static byte[] field(int number, byte[] value) {
        return concat(varint((long) number << 3 | 2), varint(value.length), value);
    }

    /** A UTF-8 string field. */
    public static byte[] stringField(int number, String value) {
        return field(number, value.getBytes(StandardCharsets.UTF_8));
    }

    /** A varint field (wire type 0). */
    public static byte[] varintField(int number, long value) {
        return concat(varint((long) number << 3), varint(value));
    }

    /** A fixed 32-bit field (wire type 5), little-endian. */
    public static byte[] fixed32Field(int number, int value) {
        return concat(varint((long) number << 3 | 5), ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array());
    }

    /** A base-128 varint (negative values take ten bytes, as protobuf encodes int64). */
    public static byte[] varint(long value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((value & ~0x7fL) != 0) {
            out.write((int) (value & 0x7f) | 0x80);
            value >>>= 7;
        }
        out.write((int) value);
        return out.toByteArray();
    }

    /** The parts one after another. */
    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
