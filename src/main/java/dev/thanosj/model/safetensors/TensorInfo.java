package dev.thanosj.model.safetensors;

import dev.thanosj.tensor.DType;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a safetensors header: its dtype (the name as written in the file, and the {@link DType} when
 * it is one that converts to float32, else null), its shape, and its byte range {@code [begin, end)}
 * relative to the start of the data section (the header's {@code data_offsets}).
 */
public record TensorInfo(String name, String dtypeName, DType dtype, long[] shape, long begin, long end) {
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtypeName, "dtypeName");
        shape = shape.clone();
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("bad byte range [" + begin + ", " + end + ") of tensor '" + name + "'");
        }
    }

    /** A copy of the shape; the record stays unmodified. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dimensions (0 for a scalar). */
    public int rank() {
        return shape.length;
    }

    /** Number of elements (1 for a scalar); the header was checked, so this does not overflow. */
    public long elementCount() {
        return SafetensorsDTypes.elements(shape);
    }

    /** Number of bytes of the tensor's data, {@code end - begin}. */
    public long byteSize() {
        return end - begin;
    }

    /** The shape as written in messages, e.g. "[5, 6]". */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtypeName.equals(t.dtypeName)
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtypeName, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtypeName + " " + shapeString() + " [" + begin + ", " + end + ")";
    }
}
