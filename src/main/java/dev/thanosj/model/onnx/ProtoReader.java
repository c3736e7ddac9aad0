package dev.thanosj.model.onnx;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A bounded reader of protobuf wire format over a byte range {@code [position, limit)} of a segment. Every
 * varint, length and fixed-size value is checked against the bytes that remain in the range; a violation
 * throws {@link MalformedProtoException} with the byte offset, never reads outside the range.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    /** Longest string (names, op types) accepted; ONNX names are short, a huge one means a corrupt file. */
    private static final long MAX_STRING_BYTES = 1 << 20;

    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data;
    private final long limit;
    private long position;
    private int wireType = -1;

    ProtoReader(MemorySegment data, long start, long end) {
        if (start < 0 || end < start || end > data.byteSize()) {
            throw new MalformedProtoException("range [" + start + ", " + end + ") outside " + data.byteSize() + " bytes");
        }
        this.data = data;
        this.position = start;
        this.limit = end;
    }

    /** True while bytes remain in the range. */
    boolean hasMore() {
        return position < limit;
    }

    /** Current byte offset in the segment. */
    long position() {
        return position;
    }

    /** Reads the next field key and returns its field number; the wire type is kept for the value reads. */
    int readField() {
        long start = position;
        long key = readVarint();
        int type = (int) (key & 7);
        long field = key >>> 3;
        if (field == 0 || field > 0x1fffffffL) {
            throw new MalformedProtoException("invalid field number " + field + " at byte " + start);
        }
        if (type != VARINT && type != FIXED64 && type != LENGTH_DELIMITED && type != FIXED32) {
            throw new MalformedProtoException("unsupported wire type " + type + " at byte " + start);
        }
        wireType = type;
        return (int) field;
    }

    /** Wire type of the field just read by {@link #readField}. */
    int wireType() {
        return wireType;
    }

    /** Reads a base-128 varint of at most 10 bytes. */
    long readVarint() {
        long start = position;
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= limit) {
                throw new MalformedProtoException("truncated varint at byte " + start);
            }
            byte b = data.get(ValueLayout.JAVA_BYTE, position++);
            if (shift == 63 && (b & 0xfe) != 0) {
                throw new MalformedProtoException("varint longer than 64 bits at byte " + start);
            }
            result |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw new MalformedProtoException("varint longer than 10 bytes at byte " + start);
    }

    /** Reads a varint field value expected to be a non-negative int. */
    int readInt32(String what) {
        long start = position;
        long v = readVarint();
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new MalformedProtoException(what + " " + v + " out of range at byte " + start);
        }
        return (int) v;
    }

    /** Reads the length of a length-delimited value and returns its start; the position moves past it. */
    long readLengthDelimited() {
        long start = position;
        long length = readVarint();
        if (length < 0 || length > limit - position) {
            throw new MalformedProtoException("length " + length + " at byte " + start + " exceeds the "
                    + (limit - position) + " bytes that remain");
        }
        long valueStart = position;
        position += length;
        return valueStart;
    }

    /** Reads a length-delimited value as a reader over exactly its bytes. */
    ProtoReader readMessage() {
        long start = readLengthDelimited();
        return new ProtoReader(data, start, position);
    }

    /** Reads a length-delimited value as strict UTF-8. */
    String readString() {
        long start = readLengthDelimited();
        long length = position - start;
        if (length > MAX_STRING_BYTES) {
            throw new MalformedProtoException("string of " + length + " bytes at byte " + start);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(data.asSlice(start, length).asByteBuffer())
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedProtoException("invalid UTF-8 string at byte " + start);
        }
    }

    /** Reads a little-endian 32-bit value. */
    int readFixed32() {
        require(4);
        int v = data.get(LE_INT, position);
        position += 4;
        return v;
    }

    /** Reads a little-endian 64-bit value. */
    long readFixed64() {
        require(8);
        long v = data.get(LE_LONG, position);
        position += 8;
        return v;
    }

    /** Skips the value of the field just read. */
    void skip() {
        switch (wireType) {
            case VARINT -> readVarint();
            case FIXED64 -> {
                require(8);
                position += 8;
            }
            case FIXED32 -> {
                require(4);
                position += 4;
            }
            case LENGTH_DELIMITED -> readLengthDelimited();
            default -> throw new IllegalStateException("no field read");
        }
    }

    /** Throws unless the field just read has wire type {@code expected}. */
    void expect(int expected, String what) {
        if (wireType != expected) {
            throw new MalformedProtoException(what + " has wire type " + wireType + ", expected " + expected
                    + " (before byte " + position + ")");
        }
    }

    private void require(int bytes) {
        if (limit - position < bytes) {
            throw new MalformedProtoException("truncated " + bytes + "-byte value at byte " + position);
        }
    }
}
