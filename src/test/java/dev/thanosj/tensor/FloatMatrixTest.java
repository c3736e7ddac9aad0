package dev.thanosj.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** FloatMatrix: allocation, wrapping, views and their strides, bulk operations, storage conversion, lifetime. */
class FloatMatrixTest {

    @Test
    void allocateGivesAZeroedAlignedContiguousMatrix() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix m = FloatMatrix.allocate(arena, 3, 5);
            assertEquals(3, m.rows());
            assertEquals(5, m.cols());
            assertEquals(5, m.rowStride());
            assertEquals(15, m.size());
            assertTrue(m.isContiguous());
            assertEquals(0, m.segment().address() % FloatMatrix.ALIGNMENT);
            assertEquals(60, m.segment().byteSize());
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 5; j++) {
                    assertEquals(0f, m.get(i, j));
                }
            }
            assertEquals("3x5", m.shape());
            assertEquals("FloatMatrix[3x5, rowStride=5]", m.toString());
        }
    }

    @Test
    void emptyShapesAreAllowedAndNegativeOnesAreNot() {
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(0, FloatMatrix.allocate(arena, 0, 7).size());
            assertEquals(0, FloatMatrix.allocate(arena, 7, 0).size());
            FloatMatrix empty = FloatMatrix.allocate(arena, 4, 4).view(1, 2, 0, 2);
            assertEquals(0, empty.size());
            assertEquals(0, empty.segment().byteSize());
            assertThrows(IllegalArgumentException.class, () -> FloatMatrix.allocate(arena, -1, 2));
            assertThrows(IllegalArgumentException.class, () -> FloatMatrix.allocate(arena, 2, -1));
        }
    }

    @Test
    void elementsAreRowMajorWithTheRowStride() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * 20, 4);
            for (int i = 0; i < 20; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            }
            FloatMatrix m = FloatMatrix.wrap(seg, 3, 4, 7);
            assertEquals(7 * 2 + 3, m.get(2, 3));
            assertEquals(7, m.get(1, 0));
            assertEquals((7L * 2 + 3) * 4, m.byteOffset(2, 3));
            assertFalse(m.isContiguous());
            assertEquals((2L * 7 + 4) * 4, m.segment().byteSize(), "the wrapped slice ends at the last element");
            m.set(1, 2, -1f);
            assertEquals(-1f, seg.getAtIndex(ValueLayout.JAVA_FLOAT, 9));
            assertArrayEquals(new float[] {14, 15, 16, 17}, m.row(2).toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void wrapRejectsBadStridesSizesAndAlignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * 12, 8);
            assertThrows(IllegalArgumentException.class, () -> FloatMatrix.wrap(seg, 2, 4, 3));
            assertThrows(IllegalArgumentException.class, () -> FloatMatrix.wrap(seg, 3, 4, 5));
            assertThrows(IllegalArgumentException.class, () -> FloatMatrix.wrap(seg.asSlice(2), 2, 2, 2));
            assertThrows(NullPointerException.class, () -> FloatMatrix.wrap(null, 1, 1, 1));
            assertEquals(12, FloatMatrix.wrap(seg, 3, 4, 4).size());
            assertEquals(4, FloatMatrix.wrap(seg.asSlice(4), 2, 2, 5).size(), "a slice at a float boundary is fine");
        }
    }

    @Test
    void heapSegmentsWork() {
        float[] data = {1, 2, 3, 4, 5, 6};
        FloatMatrix m = FloatMatrix.wrap(MemorySegment.ofArray(data), 2, 3, 3);
        assertEquals(6f, m.get(1, 2));
        m.set(0, 1, 9f);
        assertEquals(9f, data[1]);
    }

    @Test
    void indicesOutsideTheShapeThrow() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix m = FloatMatrix.allocate(arena, 6, 6).view(1, 1, 2, 3);
            assertThrows(IndexOutOfBoundsException.class, () -> m.get(2, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> m.get(0, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> m.get(-1, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> m.set(0, -1, 1f));
            assertThrows(IndexOutOfBoundsException.class, () -> m.row(2));
            assertThrows(IndexOutOfBoundsException.class, () -> m.view(1, 0, 2, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> m.view(0, 2, 1, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> m.rows(1, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> m.columns(2, 1));
        }
    }

    @Test
    void viewsShareMemoryAndKeepTheParentStride() {
        qt().withExamples(200).forAll(integers().between(1, 40), integers().between(1, 40), longs().all())
                .checkAssert((rows, cols, seed) -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    try (Arena arena = Arena.ofConfined()) {
                        FloatMatrix parent = FloatMatrix.allocate(arena, rows, cols);
                        for (int i = 0; i < rows; i++) {
                            for (int j = 0; j < cols; j++) {
                                parent.set(i, j, i * 1000 + j);
                            }
                        }
                        int r0 = rnd.nextInt(rows);
                        int c0 = rnd.nextInt(cols);
                        int h = rnd.nextInt(rows - r0 + 1);
                        int w = rnd.nextInt(cols - c0 + 1);
                        FloatMatrix v = parent.view(r0, c0, h, w);
                        assertEquals(h, v.rows());
                        assertEquals(w, v.cols());
                        assertEquals(cols, v.rowStride());
                        assertEquals(v.isContiguous(), h <= 1 || w == cols);
                        for (int i = 0; i < h; i++) {
                            for (int j = 0; j < w; j++) {
                                assertEquals(parent.get(r0 + i, c0 + j), v.get(i, j));
                            }
                        }
                        if (h > 0 && w > 0) {
                            int i = rnd.nextInt(h);
                            int j = rnd.nextInt(w);
                            v.set(i, j, -5f);
                            assertEquals(-5f, parent.get(r0 + i, c0 + j));
                            FloatMatrix inner = v.view(i, j, h - i, w - j);
                            assertEquals(-5f, inner.get(0, 0));
                            assertEquals(v.rows(i, h).get(0, j), v.columns(j, w).get(i, 0));
                        }
                    }
                });
    }

    @Test
    void fillAndCopyTouchOnlyTheView() {
        qt().withExamples(100).forAll(integers().between(1, 30), integers().between(1, 30), longs().all())
                .checkAssert((rows, cols, seed) -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    try (Arena arena = Arena.ofConfined()) {
                        FloatMatrix parent = FloatMatrix.allocate(arena, rows + 2, cols + 3);
                        parent.fill(7f);
                        int c0 = 1 + rnd.nextInt(3);
                        FloatMatrix v = parent.view(1, c0, rows, cols);
                        v.fill(0f);
                        assertEquals(0f, v.get(rows - 1, cols - 1));
                        FloatMatrix src = FloatMatrix.allocate(arena, rows, cols);
                        for (int i = 0; i < rows; i++) {
                            for (int j = 0; j < cols; j++) {
                                src.set(i, j, (float) rnd.nextGaussian());
                            }
                        }
                        v.copyFrom(src);
                        FloatMatrix copy = v.copy(arena);
                        assertTrue(copy.isContiguous());
                        for (int i = 0; i < parent.rows(); i++) {
                            for (int j = 0; j < parent.cols(); j++) {
                                boolean inside = i >= 1 && i <= rows && j >= c0 && j < c0 + cols;
                                if (inside) {
                                    assertEquals(src.get(i - 1, j - c0), parent.get(i, j));
                                    assertEquals(src.get(i - 1, j - c0), copy.get(i - 1, j - c0));
                                } else if (parent.get(i, j) != 7f) {
                                    fail("fill/copyFrom wrote outside the view at (" + i + ", " + j + ")");
                                }
                            }
                        }
                    }
                });
    }

    @Test
    void copyFromAndTransposeIntoRejectOtherShapes() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix a = FloatMatrix.allocate(arena, 2, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> a.copyFrom(FloatMatrix.allocate(arena, 3, 2)));
            assertTrue(e.getMessage().contains("copyFrom"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> a.transposeInto(FloatMatrix.allocate(arena, 2, 3)));
            assertTrue(e.getMessage().contains("transposeInto"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> a.requireSameShape(FloatMatrix.allocate(arena, 2, 2), "myOp"));
            assertTrue(e.getMessage().startsWith("myOp"), e.getMessage());
        }
    }

    @Test
    void transposeIntoTransposesStridedViews() {
        qt().withExamples(50).forAll(integers().between(1, 70), integers().between(1, 70))
                .checkAssert((rows, cols) -> {
                    try (Arena arena = Arena.ofConfined()) {
                        FloatMatrix a = FloatMatrix.allocate(arena, rows + 1, cols + 5).view(1, 2, rows, cols);
                        for (int i = 0; i < rows; i++) {
                            for (int j = 0; j < cols; j++) {
                                a.set(i, j, i - 0.5f * j);
                            }
                        }
                        FloatMatrix t = FloatMatrix.allocate(arena, cols + 2, rows + 3).view(2, 1, cols, rows);
                        a.transposeInto(t);
                        for (int i = 0; i < rows; i++) {
                            for (int j = 0; j < cols; j++) {
                                assertEquals(a.get(i, j), t.get(j, i));
                            }
                        }
                    }
                });
    }

    @Test
    void storageRoundTripsF32ExactlyAndRoundsTheHalfPrecisionTypes() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix m = FloatMatrix.allocate(arena, 2, 3).view(0, 0, 2, 3);
            float[] values = {1f, -0f, 1.00390625f, 3.14159265f, Float.MIN_NORMAL, 65520f};
            for (int i = 0; i < 6; i++) {
                m.set(i / 3, i % 3, values[i]);
            }
            for (DType dtype : DType.values()) {
                MemorySegment storage = arena.allocate(6L * dtype.byteSize() + 1).asSlice(1);
                m.toStorage(storage, dtype);
                FloatMatrix back = FloatMatrix.fromStorage(arena, storage, dtype, 2, 3);
                for (int i = 0; i < 6; i++) {
                    float expected = switch (dtype) {
                        case F32 -> values[i];
                        case BF16 -> DType.bf16ToFloat(DType.floatToBf16(values[i]));
                        case F16 -> Float.float16ToFloat(Float.floatToFloat16(values[i]));
                    };
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(back.get(i / 3, i % 3)),
                            dtype + " element " + i);
                }
            }
            assertEquals(Float.POSITIVE_INFINITY, Float.float16ToFloat(Float.floatToFloat16(65520f)));
            assertEquals(0x3f80, DType.floatToBf16(1.00390625f), "a tie rounds to even");
        }
    }

    @Test
    void storageSizesAreChecked() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix m = FloatMatrix.allocate(arena, 2, 2);
            assertThrows(IllegalArgumentException.class, () -> m.toStorage(arena.allocate(15), DType.F32));
            assertThrows(IllegalArgumentException.class, () -> m.toStorage(arena.allocate(16), DType.BF16));
            assertThrows(IllegalArgumentException.class,
                    () -> FloatMatrix.fromStorage(arena, arena.allocate(7), DType.F16, 2, 2));
        }
    }

    @Test
    void storageIsLittleEndianWhateverTheViewStride() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix m = FloatMatrix.allocate(arena, 2, 4).view(0, 1, 2, 2);
            m.set(0, 0, 1f);
            m.set(0, 1, 2f);
            m.set(1, 0, -2f);
            m.set(1, 1, 0.5f);
            MemorySegment storage = arena.allocate(16);
            m.toStorage(storage, DType.F32);
            ValueLayout.OfFloat le = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            assertEquals(2f, storage.get(le, 4));
            assertEquals(-2f, storage.get(le, 8));
            assertEquals((byte) 0x3f, storage.get(ValueLayout.JAVA_BYTE, 3), "1.0f is 00 00 80 3f");
        }
    }

    @Test
    void aClosedArenaMakesEveryAccessAnIllegalState() {
        Arena arena = Arena.ofConfined();
        FloatMatrix m = FloatMatrix.allocate(arena, 3, 3);
        FloatMatrix v = m.view(1, 1, 2, 2);
        arena.close();
        assertThrows(IllegalStateException.class, () -> m.get(0, 0));
        assertThrows(IllegalStateException.class, () -> v.set(0, 0, 1f));
        assertThrows(IllegalStateException.class, () -> v.fill(1f));
        assertThrows(IllegalStateException.class, () -> m.row(0).get(ValueLayout.JAVA_FLOAT, 0));
        assertFalse(m.segment().scope().isAlive());
    }

    @Test
    void viewsOfAViewStayInTheSameSegmentScope() {
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix m = FloatMatrix.allocate(arena, 5, 5);
            assertSame(m.segment().scope(), m.view(1, 1, 3, 3).view(1, 1, 1, 1).segment().scope());
        }
    }
}
