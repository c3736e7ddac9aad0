package dev.thanosj.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A row-major float32 matrix that is a view over a {@link MemorySegment}: element {@code (r, c)} lives at
 * float index {@code r * rowStride + c} of the segment. Views ({@link #view}, {@link #rows(int, int)},
 * {@link #columns}) share memory with their parent; nothing here copies unless the method says so.
 * The segment's arena owns the memory: once it is closed, every access throws
 * {@link IllegalStateException}.
 */
public final class FloatMatrix {
    /** Alignment of every allocation: one cache line, one AVX-512 register. */
    public static final long ALIGNMENT = 64;

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment segment;
    private final int rows;
    private final int cols;
    private final int rowStride;

    private FloatMatrix(MemorySegment segment, int rows, int cols, int rowStride) {
        this.segment = segment;
        this.rows = rows;
        this.cols = cols;
        this.rowStride = rowStride;
    }

    /** A new zero-filled {@code rows x cols} matrix in {@code arena}, 64-byte aligned, contiguous. */
    public static FloatMatrix allocate(Arena arena, int rows, int cols) {
        checkShape(rows, cols);
        long bytes = Math.max(1L, (long) rows * cols) * Float.BYTES;
        return new FloatMatrix(arena.allocate(bytes, ALIGNMENT), rows, cols, Math.max(cols, 1));
    }

    /**
     * A view of {@code segment} as a {@code rows x cols} matrix whose rows start {@code rowStride}
     * floats apart. The segment must be 4-byte aligned and large enough.
     */
    public static FloatMatrix wrap(MemorySegment segment, int rows, int cols, int rowStride) {
        Objects.requireNonNull(segment, "segment");
        checkShape(rows, cols);
        if (rowStride < Math.max(cols, 1)) {
            throw new IllegalArgumentException("rowStride " + rowStride + " < cols " + cols);
        }
        long needed = byteSpan(rows, cols, rowStride);
        if (segment.byteSize() < needed) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes is too small for a "
                    + rows + "x" + cols + " matrix with row stride " + rowStride + " (" + needed + " bytes)");
        }
        if (segment.address() % Float.BYTES != 0) {
            throw new IllegalArgumentException("segment address is not 4-byte aligned");
        }
        return new FloatMatrix(segment.asSlice(0, needed), rows, cols, rowStride);
    }

    private static void checkShape(int rows, int cols) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative shape " + rows + "x" + cols);
        }
    }

    private static long byteSpan(int rows, int cols, int rowStride) {
        if (rows == 0 || cols == 0) {
            return 0;
        }
        return ((long) (rows - 1) * rowStride + cols) * Float.BYTES;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Distance, in floats, between the starts of consecutive rows (the BLAS leading dimension). */
    public int rowStride() {
        return rowStride;
    }

    /** The memory of this view, starting at element (0, 0). */
    public MemorySegment segment() {
        return segment;
    }

    /** True when the rows follow each other without gaps. */
    public boolean isContiguous() {
        return rowStride == cols || rows <= 1;
    }

    /** Number of elements, {@code rows * cols}. */
    public long size() {
        return (long) rows * cols;
    }

    /** Byte offset of element (r, c) in {@link #segment()}. */
    public long byteOffset(int r, int c) {
        return ((long) r * rowStride + c) * Float.BYTES;
    }

    public float get(int r, int c) {
        Objects.checkIndex(r, rows);
        Objects.checkIndex(c, cols);
        return segment.get(FLOAT, byteOffset(r, c));
    }

    /** Sets element (r, c) in place. */
    public void set(int r, int c, float value) {
        Objects.checkIndex(r, rows);
        Objects.checkIndex(c, cols);
        segment.set(FLOAT, byteOffset(r, c), value);
    }

    /** Row {@code r} as a segment of {@code cols} floats (a view). */
    public MemorySegment row(int r) {
        Objects.checkIndex(r, rows);
        if (cols == 0) {
            return segment.asSlice(0, 0);
        }
        return segment.asSlice(byteOffset(r, 0), (long) cols * Float.BYTES);
    }

    /** The {@code nRows x nCols} sub-matrix whose top-left element is (r0, c0), as a view. */
    public FloatMatrix view(int r0, int c0, int nRows, int nCols) {
        Objects.checkFromIndexSize(r0, nRows, rows);
        Objects.checkFromIndexSize(c0, nCols, cols);
        long start = (nRows == 0 || nCols == 0) ? 0 : byteOffset(r0, c0);
        return new FloatMatrix(segment.asSlice(start, byteSpan(nRows, nCols, rowStride)), nRows, nCols, rowStride);
    }

    /** Rows {@code [r0, r1)} as a view. */
    public FloatMatrix rows(int r0, int r1) {
        return view(r0, 0, r1 - r0, cols);
    }

    /** Columns {@code [c0, c1)} as a view. */
    public FloatMatrix columns(int c0, int c1) {
        return view(0, c0, rows, c1 - c0);
    }

    /** Sets every element of this view to {@code value}, in place. */
    public void fill(float value) {
        boolean zero = Float.floatToRawIntBits(value) == 0;
        for (int r = 0; r < rows; r++) {
            MemorySegment row = row(r);
            if (zero) {
                row.fill((byte) 0);
            } else {
                for (int c = 0; c < cols; c++) {
                    row.setAtIndex(FLOAT, c, value);
                }
            }
        }
    }

    /** Copies {@code src} (same shape) into this view, in place. */
    public void copyFrom(FloatMatrix src) {
        requireSameShape(src, "copyFrom");
        if (isContiguous() && src.isContiguous()) {
            segment.copyFrom(src.segment);
            return;
        }
        for (int r = 0; r < rows; r++) {
            row(r).copyFrom(src.row(r));
        }
    }

    /** A contiguous copy of this view in {@code arena}. */
    public FloatMatrix copy(Arena arena) {
        FloatMatrix out = allocate(arena, rows, cols);
        out.copyFrom(this);
        return out;
    }

    /** Writes the transpose of this matrix into {@code dst} ({@code cols x rows}), in place. */
    public void transposeInto(FloatMatrix dst) {
        if (dst.rows != cols || dst.cols != rows) {
            throw new IllegalArgumentException("transposeInto: " + shape() + " into " + dst.shape());
        }
        final int tile = 32;
        for (int r0 = 0; r0 < rows; r0 += tile) {
            for (int c0 = 0; c0 < cols; c0 += tile) {
                for (int r = r0; r < Math.min(r0 + tile, rows); r++) {
                    for (int c = c0; c < Math.min(c0 + tile, cols); c++) {
                        dst.segment.set(FLOAT, dst.byteOffset(c, r), segment.get(FLOAT, byteOffset(r, c)));
                    }
                }
            }
        }
    }

    /**
     * Reads a {@code rows x cols} row-major tensor stored as {@code dtype} (little-endian, any alignment)
     * into a new float32 matrix in {@code arena}.
     */
    public static FloatMatrix fromStorage(Arena arena, MemorySegment storage, DType dtype, int rows, int cols) {
        FloatMatrix out = allocate(arena, rows, cols);
        long expected = (long) rows * cols * dtype.byteSize();
        if (storage.byteSize() != expected) {
            throw new IllegalArgumentException("storage holds " + storage.byteSize() + " bytes, a " + rows + "x"
                    + cols + " " + dtype + " tensor needs " + expected);
        }
        long n = (long) rows * cols;
        if (dtype == DType.F32) {
            MemorySegment.copy(storage, LE_FLOAT, 0, out.segment, FLOAT, 0, n);
            return out;
        }
        for (long i = 0; i < n; i++) {
            out.segment.setAtIndex(FLOAT, i, dtype.read(storage, i));
        }
        return out;
    }

    /** Writes this matrix, row-major and rounded to {@code dtype}, into {@code storage}. */
    public void toStorage(MemorySegment storage, DType dtype) {
        long expected = size() * dtype.byteSize();
        if (storage.byteSize() != expected) {
            throw new IllegalArgumentException("storage holds " + storage.byteSize() + " bytes, a " + shape() + " "
                    + dtype + " tensor needs " + expected);
        }
        long i = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                dtype.write(storage, i++, segment.get(FLOAT, byteOffset(r, c)));
            }
        }
    }

    /** Throws {@link IllegalArgumentException} naming {@code operation} unless {@code other} has this shape. */
    public void requireSameShape(FloatMatrix other, String operation) {
        if (other.rows != rows || other.cols != cols) {
            throw new IllegalArgumentException(operation + ": shape " + other.shape() + " does not match " + shape());
        }
    }

    /** "rows x cols". */
    public String shape() {
        return rows + "x" + cols;
    }

    @Override
    public String toString() {
        return "FloatMatrix[" + shape() + ", rowStride=" + rowStride + "]";
    }
}
