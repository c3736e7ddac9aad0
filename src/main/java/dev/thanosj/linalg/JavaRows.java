package dev.thanosj.linalg;

import dev.thanosj.concurrent.Workers;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Level-1 vector primitives on rows of {@link FloatMatrix} segments (and small {@code float[]} buffers) for
 * the pure-Java provider, plus tiled transposes and the thread split shared by its routines.
 *
 * <p>Loop shape of every primitive: the body runs one vector at a time while a whole vector fits; on segments
 * one masked vector finishes the tail (the rows here are short, and a scalar tail of up to L-1 checked segment
 * accesses would cost more than the body), on {@code float[]} a scalar loop does. The dot products keep two
 * independent accumulators so consecutive FMAs do not wait on each other (rows of at most a few hundred
 * floats need no more). The accumulation goes through {@link JavaGemm#madd}, which fuses only on hardware FMA.
 */
final class JavaRows {
    private static final VectorSpecies<Float> SPECIES = JavaGemm.SPECIES;
    private static final int L = JavaGemm.L;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    /** Edge of the square tiles the transposes move through a small buffer. */
    private static final int TILE = 32;
    /** Stands for "some other thread" when asking whether a segment may be shared with the worker pool. */
    private static final Thread OTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });

    private JavaRows() {
    }

    /** {@code threads}, or 1 when a matrix lives in a confined arena that other threads may not touch. */
    static int usableThreads(int threads, FloatMatrix... matrices) {
        if (threads <= 1) {
            return 1;
        }
        for (FloatMatrix m : matrices) {
            if (!m.segment().isAccessibleBy(OTHER_THREAD)) {
                return 1;
            }
        }
        return threads;
    }

    /** Runs {@code body(i)} for i in [0, count), on the worker pool when {@code threads > 1}. */
    static void forEach(int count, int threads, IntConsumer body) {
        if (threads > 1 && count > 1) {
            Workers.parallelFor(count, body);
        } else {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
        }
    }

    /** Dot product of n floats at byte offset {@code xo} of x and index {@code yo} of y. */
    static float dot(MemorySegment x, long xo, float[] y, int yo, int n) {
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = acc0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            long d = xo + (long) i * Float.BYTES;
            acc0 = JavaGemm.madd(FloatVector.fromMemorySegment(SPECIES, x, d, NATIVE),
                    FloatVector.fromArray(SPECIES, y, yo + i), acc0);
            acc1 = JavaGemm.madd(FloatVector.fromMemorySegment(SPECIES, x, d + L * Float.BYTES, NATIVE),
                    FloatVector.fromArray(SPECIES, y, yo + i + L), acc1);
        }
        if (i + L <= n) {
            acc0 = JavaGemm.madd(FloatVector.fromMemorySegment(SPECIES, x, xo + (long) i * Float.BYTES, NATIVE),
                    FloatVector.fromArray(SPECIES, y, yo + i), acc0);
            i += L;
        }
        if (i < n) {
            VectorMask<Float> m = SPECIES.indexInRange(i, n);
            acc1 = JavaGemm.madd(FloatVector.fromMemorySegment(SPECIES, x, xo + (long) i * Float.BYTES, NATIVE, m),
                    FloatVector.fromArray(SPECIES, y, yo + i, m), acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** Dot product of n floats from index xo of x and index yo of y. */
    static float dot(float[] x, int xo, float[] y, int yo, int n) {
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = acc0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            acc0 = JavaGemm.madd(FloatVector.fromArray(SPECIES, x, xo + i), FloatVector.fromArray(SPECIES, y, yo + i), acc0);
            acc1 = JavaGemm.madd(FloatVector.fromArray(SPECIES, x, xo + i + L),
                    FloatVector.fromArray(SPECIES, y, yo + i + L), acc1);
        }
        if (i + L <= n) {
            acc0 = JavaGemm.madd(FloatVector.fromArray(SPECIES, x, xo + i), FloatVector.fromArray(SPECIES, y, yo + i), acc0);
            i += L;
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += x[xo + i] * y[yo + i];
        }
        return sum;
    }

    /** {@code y += alpha * x} over n floats at byte offsets xo and yo; modifies y. */
    static void axpy(float alpha, MemorySegment x, long xo, MemorySegment y, long yo, int n) {
        FloatVector a = FloatVector.broadcast(SPECIES, alpha);
        int i = 0;
        for (; i + L <= n; i += L) {
            long d = (long) i * Float.BYTES;
            JavaGemm.madd(a, FloatVector.fromMemorySegment(SPECIES, x, xo + d, NATIVE),
                    FloatVector.fromMemorySegment(SPECIES, y, yo + d, NATIVE)).intoMemorySegment(y, yo + d, NATIVE);
        }
        if (i < n) {
            VectorMask<Float> m = SPECIES.indexInRange(i, n);
            long d = (long) i * Float.BYTES;
            JavaGemm.madd(a, FloatVector.fromMemorySegment(SPECIES, x, xo + d, NATIVE, m),
                    FloatVector.fromMemorySegment(SPECIES, y, yo + d, NATIVE, m))
                    .intoMemorySegment(y, yo + d, NATIVE, m);
        }
    }

    /** {@code y += alpha * x} over n floats, x at byte offset xo of a segment, y from index yo; modifies y. */
    static void axpy(float alpha, MemorySegment x, long xo, float[] y, int yo, int n) {
        FloatVector a = FloatVector.broadcast(SPECIES, alpha);
        int i = 0;
        for (; i + L <= n; i += L) {
            JavaGemm.madd(a, FloatVector.fromMemorySegment(SPECIES, x, xo + (long) i * Float.BYTES, NATIVE),
                    FloatVector.fromArray(SPECIES, y, yo + i)).intoArray(y, yo + i);
        }
        if (i < n) {
            VectorMask<Float> m = SPECIES.indexInRange(i, n);
            JavaGemm.madd(a, FloatVector.fromMemorySegment(SPECIES, x, xo + (long) i * Float.BYTES, NATIVE, m),
                    FloatVector.fromArray(SPECIES, y, yo + i, m)).intoArray(y, yo + i, m);
        }
    }

    /** {@code y += alpha * x} over n floats from index xo of x and index yo of y; modifies y. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector a = FloatVector.broadcast(SPECIES, alpha);
        int i = 0;
        for (; i + L <= n; i += L) {
            JavaGemm.madd(a, FloatVector.fromArray(SPECIES, x, xo + i), FloatVector.fromArray(SPECIES, y, yo + i))
                    .intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += alpha * x[xo + i];
        }
    }

    /** Copies the lower triangle (diagonal included) of the square d into w, row i at index {@code i * n}. */
    static float[] lowerToArray(FloatMatrix d) {
        int n = d.rows();
        float[] w = new float[n * n];
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(d.segment(), FLOAT, d.byteOffset(i, 0), w, i * n, i + 1);
        }
        return w;
    }

    /** Writes the lower triangle (diagonal included) of w, laid out as {@link #lowerToArray} does, into d. */
    static void lowerFromArray(float[] w, FloatMatrix d) {
        int n = d.rows();
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(w, i * n, d.segment(), FLOAT, d.byteOffset(i, 0), i + 1);
        }
    }

    /** {@code x *= alpha} over n floats at byte offset xo; modifies x. */
    static void scale(float alpha, MemorySegment x, long xo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            long d = xo + (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(SPECIES, x, d, NATIVE).mul(alpha).intoMemorySegment(x, d, NATIVE);
        }
        if (i < n) {
            VectorMask<Float> m = SPECIES.indexInRange(i, n);
            long d = xo + (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(SPECIES, x, d, NATIVE, m).mul(alpha).intoMemorySegment(x, d, NATIVE, m);
        }
    }

    /** {@code x /= divisor} over n floats at byte offset xo (a true division, as reference BLAS does); modifies x. */
    static void divide(float divisor, MemorySegment x, long xo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            long d = xo + (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(SPECIES, x, d, NATIVE).div(divisor).intoMemorySegment(x, d, NATIVE);
        }
        if (i < n) {
            VectorMask<Float> m = SPECIES.indexInRange(i, n);
            long d = xo + (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(SPECIES, x, d, NATIVE, m).div(divisor).intoMemorySegment(x, d, NATIVE, m);
        }
    }

    /** Writes the transpose of src ({@code r x c}) into dst ({@code c x r}), tile by tile; modifies dst. */
    static void transpose(FloatMatrix src, FloatMatrix dst) {
        float[] t = new float[TILE * TILE];
        for (int i0 = 0; i0 < src.rows(); i0 += TILE) {
            int h = Math.min(TILE, src.rows() - i0);
            for (int j0 = 0; j0 < src.cols(); j0 += TILE) {
                int w = Math.min(TILE, src.cols() - j0);
                load(src, i0, j0, h, w, t);
                storeTransposed(t, h, w, dst, j0, i0);
            }
        }
    }

    /** Transposes the square matrix a in place (both triangles are swapped); modifies a. */
    static void transposeInPlace(FloatMatrix a) {
        int n = a.rows();
        float[] t1 = new float[TILE * TILE];
        float[] t2 = new float[TILE * TILE];
        for (int i0 = 0; i0 < n; i0 += TILE) {
            int h = Math.min(TILE, n - i0);
            for (int j0 = i0; j0 < n; j0 += TILE) {
                int w = Math.min(TILE, n - j0);
                load(a, i0, j0, h, w, t1);
                if (i0 == j0) {
                    storeTransposed(t1, h, w, a, j0, i0);
                } else {
                    load(a, j0, i0, w, h, t2);
                    storeTransposed(t1, h, w, a, j0, i0);
                    storeTransposed(t2, w, h, a, i0, j0);
                }
            }
        }
    }

    /** Copies the strict lower triangle of the square c onto its strict upper triangle; modifies c. */
    static void mirrorLowerToUpper(FloatMatrix c) {
        int n = c.rows();
        float[] t = new float[TILE * TILE];
        for (int i0 = 0; i0 < n; i0 += TILE) {
            int h = Math.min(TILE, n - i0);
            for (int j0 = 0; j0 < i0; j0 += TILE) {
                load(c, i0, j0, h, TILE, t);
                storeTransposed(t, h, TILE, c, j0, i0);
            }
            load(c, i0, i0, h, h, t);
            for (int i = 0; i < h; i++) {
                for (int j = i + 1; j < h; j++) {
                    t[i * TILE + j] = t[j * TILE + i];
                }
            }
            store(t, h, h, c, i0, i0);
        }
    }

    /** True when the square c equals its transpose exactly (NaN never equals anything). */
    static boolean isSymmetric(FloatMatrix c) {
        int n = c.rows();
        float[] lower = new float[TILE * TILE];
        float[] upper = new float[TILE * TILE];
        for (int i0 = 0; i0 < n; i0 += TILE) {
            int h = Math.min(TILE, n - i0);
            for (int j0 = 0; j0 <= i0; j0 += TILE) {
                int w = Math.min(TILE, n - j0);
                load(c, i0, j0, h, w, lower);
                load(c, j0, i0, w, h, upper);
                for (int i = 0; i < h; i++) {
                    for (int j = 0; j < w; j++) {
                        if (!(lower[i * TILE + j] == upper[j * TILE + i])) {
                            return false;
                        }
                    }
                }
            }
        }
        return true;
    }

    /** Sets the strict upper triangle of the square a to zero; modifies a. */
    static void zeroStrictUpper(FloatMatrix a) {
        int n = a.rows();
        for (int i = 0; i + 1 < n; i++) {
            a.segment().asSlice(a.byteOffset(i, i + 1), (long) (n - i - 1) * Float.BYTES).fill((byte) 0);
        }
    }

    private static void load(FloatMatrix a, int r0, int c0, int h, int w, float[] t) {
        for (int i = 0; i < h; i++) {
            MemorySegment.copy(a.segment(), FLOAT, a.byteOffset(r0 + i, c0), t, i * TILE, w);
        }
    }

    private static void store(float[] t, int h, int w, FloatMatrix a, int r0, int c0) {
        for (int i = 0; i < h; i++) {
            MemorySegment.copy(t, i * TILE, a.segment(), FLOAT, a.byteOffset(r0 + i, c0), w);
        }
    }

    /** Writes the transpose of the h x w tile t at (r0, c0) of a, as a w x h block. */
    private static void storeTransposed(float[] t, int h, int w, FloatMatrix a, int r0, int c0) {
        float[] row = new float[TILE];
        for (int j = 0; j < w; j++) {
            for (int i = 0; i < h; i++) {
                row[i] = t[i * TILE + j];
            }
            MemorySegment.copy(row, 0, a.segment(), FLOAT, a.byteOffset(r0 + j, c0), h);
        }
    }
}
