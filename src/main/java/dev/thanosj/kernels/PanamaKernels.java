package dev.thanosj.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The kernels on the Vector API ({@code jdk.incubator.vector}); the only class of the library besides
 * linalg's Java BLAS that imports it.
 *
 * <p><b>Loop shape</b> (one for every streaming kernel, after Lucene's {@code dot}/{@code dotBody}): the
 * public method receives sizes already checked by the caller, a body runs in steps of {@code L =
 * SPECIES.length()} lanes (16 floats with the 512-bit species of these Zen 4 machines) up to
 * {@code SPECIES.loopBound(n)}, and a scalar tail (at most L − 1 entries) finishes with exactly the float
 * operations of {@link Metric}, so masks never depend on where the tail starts.
 * <b>Reductions</b> ({@link #dot}, {@link #sumSquares}, {@link #sumSquaredDifference}) unroll by 4 with four
 * independent accumulators: an FMA has a latency of 4 cycles and two issue ports, so one accumulator would
 * leave the FPU idle 7 cycles out of 8; four hide most of the latency while staying well inside the 32
 * vector registers. The selection passes need no accumulator vector (a popcount of the compare mask per
 * step), and are not unrolled: they are bound by the load of the row.
 * <b>Batched SPD solve</b>: SIMD across L systems (lane = row of W), so each step of the Cholesky is a full
 * vector FMA with no tails and no horizontal reduction; the inner product loop is register-tiled two rows by
 * four columns (6 loads per 8 FMAs instead of 2 per FMA).
 * <b>FMA</b> is used unconditionally, written out at each use: {@link KernelsProvider} creates this class
 * only where HotSpot reports hardware FMA.
 */
final class PanamaKernels implements Kernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, SPECIES.vectorShape());
    private static final int L = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long LANE_BITS = L == 64 ? -1L : (1L << L) - 1;
    private static final IntVector IOTA = IntVector.zero(INTS).addIndex(1);
    /** Lane i reads lane L − 1 − i. */
    private static final VectorShuffle<Float> REVERSE = VectorShuffle.fromOp(SPECIES, i -> L - 1 - i);
    /** For power-of-two m dividing L: [log2 m][s] = lane i reads lane g + (i − g + s) mod m of its group g. */
    private static final VectorShuffle<Integer>[][] ROTATE = rotations();
    /** [log2 m][s]: lanes whose rotated partner is the lower column of the group. */
    private static final VectorMask<Integer>[][] PARTNER_LOWER = partnerLower();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Integer>[][] rotations() {
        VectorShuffle<Integer>[][] out = new VectorShuffle[6][];
        for (int log = 1; (1 << log) <= L; log++) {
            int m = 1 << log;
            out[log] = new VectorShuffle[m];
            for (int s = 1; s < m; s++) {
                int[] idx = new int[L];
                for (int i = 0; i < L; i++) {
                    int g = i - i % m;
                    idx[i] = g + (i - g + s) % m;
                }
                out[log][s] = VectorShuffle.fromArray(INTS, idx, 0);
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static VectorMask<Integer>[][] partnerLower() {
        VectorMask<Integer>[][] out = new VectorMask[6][];
        for (int log = 1; (1 << log) <= L; log++) {
            int m = 1 << log;
            out[log] = new VectorMask[m];
            for (int s = 1; s < m; s++) {
                boolean[] lower = new boolean[L];
                for (int i = 0; i < L; i++) {
                    lower[i] = i % m + s >= m;
                }
                out[log][s] = VectorMask.fromArray(INTS, lower, 0);
            }
        }
        return out;
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String description() {
        return "Panama " + SPECIES.vectorBitSize() + "-bit (" + L + " floats, FMA)";
    }

    @Override
    public int batchLanes() {
        return L;
    }

    private static FloatVector load(MemorySegment row, int c) {
        return FloatVector.fromMemorySegment(SPECIES, row, (long) c * Float.BYTES, ORDER);
    }

    private static IntVector bits(FloatVector w, FloatVector f, Metric metric) {
        FloatVector score = metric == Metric.ABS_SCALED ? w.abs().mul(f) : w.mul(w).div(f);
        return ((IntVector) score.reinterpretAsInts()).and(0x7fffffff);
    }

    @Override
    public void wandaMetric(MemorySegment row, float[] sqrtS, int factorOffset, int n, float[] out) {
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            load(row, c).abs().mul(FloatVector.fromArray(SPECIES, sqrtS, factorOffset + c)).intoArray(out, c);
        }
        for (; c < n; c++) {
            out[c] = Math.abs(row.getAtIndex(JAVA_FLOAT, c)) * sqrtS[factorOffset + c];
        }
    }

    @Override
    public void scoreBits(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int[] out) {
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            bits(load(row, c), FloatVector.fromArray(SPECIES, factor, factorOffset + c), metric).intoArray(out, c);
        }
        for (; c < n; c++) {
            out[c] = metric.bits(row.getAtIndex(JAVA_FLOAT, c), factor[factorOffset + c]);
        }
    }

    @Override
    public long countAndCollect(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric,
            int lowBits, int highBits, long keyBase, long[] keys, int keyStart, int keyLimit) {
        long below = 0;
        int inWindow = 0;
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            IntVector b = bits(load(row, c), FloatVector.fromArray(SPECIES, factor, factorOffset + c), metric);
            below += b.lt(lowBits).trueCount();
            VectorMask<Integer> window = b.compare(VectorOperators.GE, lowBits)
                    .and(b.compare(VectorOperators.LE, highBits));
            if (window.anyTrue()) { // rare: the window holds a few per cent of the entries
                long set = window.toLong();
                while (set != 0) {
                    int cc = c + Long.numberOfTrailingZeros(set);
                    if (keyStart + inWindow < keyLimit) {
                        keys[keyStart + inWindow] = ((long) metric.bits(row.getAtIndex(JAVA_FLOAT, cc),
                                factor[factorOffset + cc]) << 32) | (keyBase + cc);
                    }
                    inWindow++;
                    set &= set - 1;
                }
            }
        }
        for (; c < n; c++) {
            int b = metric.bits(row.getAtIndex(JAVA_FLOAT, c), factor[factorOffset + c]);
            if (b < lowBits) {
                below++;
            } else if (b <= highBits) {
                if (keyStart + inWindow < keyLimit) {
                    keys[keyStart + inWindow] = ((long) b << 32) | (keyBase + c);
                }
                inWindow++;
            }
        }
        return (below << 32) | inWindow;
    }

    @Override
    public void histogram(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int high,
            int[] counts) {
        int[] lanes = new int[L]; // per call, not per entry: the histogram's increments are scalar anyway
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            bits(load(row, c), FloatVector.fromArray(SPECIES, factor, factorOffset + c), metric).intoArray(lanes, 0);
            for (int i = 0; i < L; i++) {
                int b = lanes[i];
                if (high < 0) {
                    counts[b >>> 16]++;
                } else if (b >>> 16 == high) {
                    counts[b & 0xffff]++;
                }
            }
        }
        for (; c < n; c++) {
            int b = metric.bits(row.getAtIndex(JAVA_FLOAT, c), factor[factorOffset + c]);
            if (high < 0) {
                counts[b >>> 16]++;
            } else if (b >>> 16 == high) {
                counts[b & 0xffff]++;
            }
        }
    }

    @Override
    public int markSelected(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int limitBits,
            int tieColumns, long[] mask, int maskOffset) {
        ScalarKernels.clear(mask, maskOffset, n);
        int count = 0;
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            IntVector b = bits(load(row, c), FloatVector.fromArray(SPECIES, factor, factorOffset + c), metric);
            VectorMask<Integer> sel = b.lt(limitBits);
            if (c < tieColumns) {
                sel = sel.or(b.eq(limitBits).and(IOTA.lt(tieColumns - c)));
            }
            long set = sel.toLong();
            mask[maskOffset + (c >>> 6)] |= set << (c & 63);
            count += Long.bitCount(set);
        }
        for (; c < n; c++) {
            int b = metric.bits(row.getAtIndex(JAVA_FLOAT, c), factor[factorOffset + c]);
            if (b < limitBits || (b == limitBits && c < tieColumns)) {
                mask[maskOffset + (c >>> 6)] |= 1L << c;
                count++;
            }
        }
        return count;
    }

    @Override
    public void nOfMMask(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int keep, int m,
            long[] mask, int maskOffset) {
        int log = Integer.numberOfTrailingZeros(m);
        if (m > L || (1 << log) != m || m == 1) {
            new ScalarKernels().nOfMMask(row, factor, factorOffset, n, metric, keep, m, mask, maskOffset);
            return;
        }
        ScalarKernels.clear(mask, maskOffset, n);
        VectorShuffle<Integer>[] rotate = ROTATE[log];
        VectorMask<Integer>[] lower = PARTNER_LOWER[log];
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            IntVector b = bits(load(row, c), FloatVector.fromArray(SPECIES, factor, factorOffset + c), metric);
            IntVector rank = IntVector.zero(INTS);
            for (int s = 1; s < m; s++) { // rank = how many of the group order before this entry
                IntVector p = b.rearrange(rotate[s]);
                rank = rank.add(1, p.lt(b).or(p.eq(b).and(lower[s])));
            }
            mask[maskOffset + (c >>> 6)] |= rank.lt(keep).toLong() << (c & 63);
        }
        for (int g = c; g < n; g += m) { // whole groups remain: n % m == 0
            for (int i = 0; i < m; i++) {
                int bi = metric.bits(row.getAtIndex(JAVA_FLOAT, g + i), factor[factorOffset + g + i]);
                int rank = 0;
                for (int j = 0; j < m; j++) {
                    int bj = metric.bits(row.getAtIndex(JAVA_FLOAT, g + j), factor[factorOffset + g + j]);
                    if (bj < bi || (bj == bi && j < i)) {
                        rank++;
                    }
                }
                if (rank < keep) {
                    mask[maskOffset + ((g + i) >>> 6)] |= 1L << (g + i);
                }
            }
        }
    }

    @Override
    public void reverse(MemorySegment src, MemorySegment dst, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            load(src, n - i - L).rearrange(REVERSE).intoMemorySegment(dst, (long) i * Float.BYTES, ORDER);
        }
        for (; i < n; i++) {
            dst.setAtIndex(JAVA_FLOAT, i, src.getAtIndex(JAVA_FLOAT, n - 1 - i));
        }
    }

    @Override
    public void zeroMasked(MemorySegment row, int n, long[] mask, int maskOffset) {
        FloatVector zero = FloatVector.zero(SPECIES);
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            long set = (mask[maskOffset + (c >>> 6)] >>> (c & 63)) & LANE_BITS;
            if (set != 0) { // load, blend, plain store: a masked store to a segment measured slower
                load(row, c).blend(zero, VectorMask.fromLong(SPECIES, set))
                        .intoMemorySegment(row, (long) c * Float.BYTES, ORDER);
            }
        }
        for (; c < n; c++) {
            if ((mask[maskOffset + (c >>> 6)] & (1L << c)) != 0) {
                row.setAtIndex(JAVA_FLOAT, c, 0f);
            }
        }
    }

    @Override
    public int gatherMasked(MemorySegment row, int n, long[] mask, int maskOffset, int[] indices, float[] values) {
        int k = 0;
        int c = 0;
        for (int bound = SPECIES.loopBound(n); c < bound; c += L) {
            long set = (mask[maskOffset + (c >>> 6)] >>> (c & 63)) & LANE_BITS;
            if (set == 0) {
                continue;
            }
            if (k + L <= values.length && k + L <= indices.length) {
                VectorMask<Float> m = VectorMask.fromLong(SPECIES, set);
                load(row, c).compress(m).intoArray(values, k);
                IOTA.add(c).compress(m.cast(INTS)).intoArray(indices, k);
                k += Long.bitCount(set);
            } else {
                while (set != 0) {
                    int cc = c + Long.numberOfTrailingZeros(set);
                    indices[k] = cc;
                    values[k++] = row.getAtIndex(JAVA_FLOAT, cc);
                    set &= set - 1;
                }
            }
        }
        for (; c < n; c++) {
            if ((mask[maskOffset + (c >>> 6)] & (1L << c)) != 0) {
                indices[k] = c;
                values[k++] = row.getAtIndex(JAVA_FLOAT, c);
            }
        }
        return k;
    }

    @Override
    public void scatter(MemorySegment row, int[] indices, float[] values, int k) {
        // The Vector API has no scatter into a MemorySegment; k is at most the block width.
        for (int i = 0; i < k; i++) {
            row.setAtIndex(JAVA_FLOAT, indices[i], values[i]);
        }
    }

    @Override
    public void multiplyBatch(float[] a, int n, float[] x, float[] y) {
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            multiplyFourRows(a, n, x, y, i);
        }
        for (; i < n; i++) {
            FloatVector s = FloatVector.zero(SPECIES);
            for (int j = 0; j < n; j++) {
                s = FloatVector.broadcast(SPECIES, a[i * n + j]).fma(FloatVector.fromArray(SPECIES, x, j * L), s);
            }
            s.intoArray(y, i * L);
        }
    }

    /** Rows i..i+3 of {@code y = A x}: four accumulators share each load of x (5 loads per 4 FMAs). */
    private static void multiplyFourRows(float[] a, int n, float[] x, float[] y, int i) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        int a0 = i * n;
        for (int j = 0; j < n; j++) {
            FloatVector xj = FloatVector.fromArray(SPECIES, x, j * L);
            s0 = FloatVector.broadcast(SPECIES, a[a0 + j]).fma(xj, s0);
            s1 = FloatVector.broadcast(SPECIES, a[a0 + n + j]).fma(xj, s1);
            s2 = FloatVector.broadcast(SPECIES, a[a0 + 2 * n + j]).fma(xj, s2);
            s3 = FloatVector.broadcast(SPECIES, a[a0 + 3 * n + j]).fma(xj, s3);
        }
        s0.intoArray(y, i * L);
        s1.intoArray(y, (i + 1) * L);
        s2.intoArray(y, (i + 2) * L);
        s3.intoArray(y, (i + 3) * L);
    }

    @Override
    public boolean spdSolveBatch(float[] gram, int gramStride, int[] q, int k, float[] rhs, float[] work) {
        // Split in small methods: C2 refuses to compile huge methods, and an interpreted Vector API loop
        // boxes every vector (100x slower).
        int diag = k * (k + 1) / 2 * L; // work[diag + i·L ..] = 1 / L_ii per lane
        gatherSystems(gram, gramStride, q, k, work);
        int i = 0;
        for (; i + 1 < k; i += 2) {
            if (!choleskyRowPair(work, i, diag)) {
                return false;
            }
        }
        if (i < k && !choleskyRowRest(work, i, 0, diag)) {
            return false;
        }
        forward(work, k, diag, rhs);
        backward(work, k, diag, rhs);
        return true;
    }

    /** {@code work[tri(x, y)·L + lane] = gram[q_x · stride + q_y]} (identity where q is −1). */
    private static void gatherSystems(float[] gram, int gramStride, int[] q, int k, float[] work) {
        int[] index = new int[L]; // per batch of L systems
        FloatVector one = FloatVector.broadcast(SPECIES, 1f);
        FloatVector zero = FloatVector.zero(SPECIES);
        for (int x = 0; x < k; x++) {
            IntVector qx = IntVector.fromArray(INTS, q, x * L);
            VectorMask<Integer> padX = qx.lt(0);
            IntVector base = qx.mul(gramStride);
            int row = x * (x + 1) / 2 * L;
            for (int y = 0; y <= x; y++) {
                IntVector qy = IntVector.fromArray(INTS, q, y * L);
                VectorMask<Integer> pad = padX.or(qy.lt(0));
                base.add(qy).blend(0, pad).intoArray(index, 0);
                FloatVector v = FloatVector.fromArray(SPECIES, gram, 0, index, 0);
                v.blend(x == y ? one : zero, pad.cast(SPECIES)).intoArray(work, row + y * L);
            }
        }
    }

    /**
     * Rows i and i+1 of the Cholesky factor (Banachiewicz), in place; false when a pivot is not positive.
     * Their columns below {@code 4⌊i/4⌋} go four at a time for both rows at once ({@link #subtractTileSums}:
     * 6 loads per 8 FMAs), the rest one by one.
     */
    private static boolean choleskyRowPair(float[] work, int i, int diag) {
        int rowI = i * (i + 1) / 2 * L;
        int rowNext = rowI + (i + 1) * L;
        int j = 0;
        for (; j + 4 <= i; j += 4) {
            subtractTileSums(work, rowI, rowNext, j);
            choleskyTile(work, rowI, j, diag);
            choleskyTile(work, rowNext, j, diag);
        }
        return choleskyRowRest(work, i, j, diag) && choleskyRowRest(work, i + 1, j, diag);
    }

    /** Row i's columns {@code [j0, i)} one at a time, then its diagonal; false when the pivot is not positive. */
    private static boolean choleskyRowRest(float[] work, int i, int j0, int diag) {
        int rowI = i * (i + 1) / 2 * L;
        for (int j = j0; j < i; j++) {
            int rj = j * (j + 1) / 2 * L;
            FloatVector s = FloatVector.zero(SPECIES);
            for (int p = 0; p < j; p++) {
                FloatVector li = FloatVector.fromArray(SPECIES, work, rowI + p * L);
                s = li.fma(FloatVector.fromArray(SPECIES, work, rj + p * L), s);
            }
            FloatVector.fromArray(SPECIES, work, rowI + j * L).sub(s)
                    .mul(FloatVector.fromArray(SPECIES, work, diag + j * L)).intoArray(work, rowI + j * L);
        }
        FloatVector s = FloatVector.zero(SPECIES);
        for (int p = 0; p < i; p++) {
            FloatVector li = FloatVector.fromArray(SPECIES, work, rowI + p * L);
            s = li.fma(li, s);
        }
        FloatVector d = FloatVector.fromArray(SPECIES, work, rowI + i * L).sub(s);
        if (!d.compare(VectorOperators.GT, 0f).allTrue()) {
            return false;
        }
        d = d.sqrt();
        d.intoArray(work, rowI + i * L);
        FloatVector.broadcast(SPECIES, 1f).div(d).intoArray(work, diag + i * L);
        return true;
    }

    /**
     * {@code A[r][j + c] −= Σ_{p<j} L[r][p]·L[j + c][p]} for the two rows r at {@code rowA}, {@code rowB} and
     * c = 0..3: eight accumulators, each load of a row shared by four FMAs and each load of a column by two.
     */
    private static void subtractTileSums(float[] work, int rowA, int rowB, int j) {
        int r0 = j * (j + 1) / 2 * L;
        int r1 = r0 + (j + 1) * L;
        int r2 = r1 + (j + 2) * L;
        int r3 = r2 + (j + 3) * L;
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        for (int p = 0; p < j; p++) {
            FloatVector la = FloatVector.fromArray(SPECIES, work, rowA + p * L);
            FloatVector lb = FloatVector.fromArray(SPECIES, work, rowB + p * L);
            FloatVector c0 = FloatVector.fromArray(SPECIES, work, r0 + p * L);
            FloatVector c1 = FloatVector.fromArray(SPECIES, work, r1 + p * L);
            FloatVector c2 = FloatVector.fromArray(SPECIES, work, r2 + p * L);
            FloatVector c3 = FloatVector.fromArray(SPECIES, work, r3 + p * L);
            a0 = la.fma(c0, a0);
            a1 = la.fma(c1, a1);
            a2 = la.fma(c2, a2);
            a3 = la.fma(c3, a3);
            b0 = lb.fma(c0, b0);
            b1 = lb.fma(c1, b1);
            b2 = lb.fma(c2, b2);
            b3 = lb.fma(c3, b3);
        }
        int a = rowA + j * L;
        int b = rowB + j * L;
        FloatVector.fromArray(SPECIES, work, a).sub(a0).intoArray(work, a);
        FloatVector.fromArray(SPECIES, work, a + L).sub(a1).intoArray(work, a + L);
        FloatVector.fromArray(SPECIES, work, a + 2 * L).sub(a2).intoArray(work, a + 2 * L);
        FloatVector.fromArray(SPECIES, work, a + 3 * L).sub(a3).intoArray(work, a + 3 * L);
        FloatVector.fromArray(SPECIES, work, b).sub(b0).intoArray(work, b);
        FloatVector.fromArray(SPECIES, work, b + L).sub(b1).intoArray(work, b + L);
        FloatVector.fromArray(SPECIES, work, b + 2 * L).sub(b2).intoArray(work, b + 2 * L);
        FloatVector.fromArray(SPECIES, work, b + 3 * L).sub(b3).intoArray(work, b + 3 * L);
    }

    /**
     * {@code L[i][j..j+3]} once {@link #subtractTileSums} has taken the columns before j off: the small
     * triangle inside the tile.
     */
    private static void choleskyTile(float[] work, int rowI, int j, int diag) {
        int r0 = j * (j + 1) / 2 * L;
        int r1 = r0 + (j + 1) * L;
        int r2 = r1 + (j + 2) * L;
        int r3 = r2 + (j + 3) * L;
        FloatVector s1 = FloatVector.zero(SPECIES);
        FloatVector s2 = s1;
        FloatVector s3 = s1;
        FloatVector l0 = FloatVector.fromArray(SPECIES, work, rowI + j * L)
                .mul(FloatVector.fromArray(SPECIES, work, diag + j * L));
        l0.intoArray(work, rowI + j * L);
        s1 = l0.fma(FloatVector.fromArray(SPECIES, work, r1 + j * L), s1);
        s2 = l0.fma(FloatVector.fromArray(SPECIES, work, r2 + j * L), s2);
        s3 = l0.fma(FloatVector.fromArray(SPECIES, work, r3 + j * L), s3);
        FloatVector l1 = FloatVector.fromArray(SPECIES, work, rowI + (j + 1) * L).sub(s1)
                .mul(FloatVector.fromArray(SPECIES, work, diag + (j + 1) * L));
        l1.intoArray(work, rowI + (j + 1) * L);
        s2 = l1.fma(FloatVector.fromArray(SPECIES, work, r2 + (j + 1) * L), s2);
        s3 = l1.fma(FloatVector.fromArray(SPECIES, work, r3 + (j + 1) * L), s3);
        FloatVector l2 = FloatVector.fromArray(SPECIES, work, rowI + (j + 2) * L).sub(s2)
                .mul(FloatVector.fromArray(SPECIES, work, diag + (j + 2) * L));
        l2.intoArray(work, rowI + (j + 2) * L);
        s3 = l2.fma(FloatVector.fromArray(SPECIES, work, r3 + (j + 2) * L), s3);
        FloatVector.fromArray(SPECIES, work, rowI + (j + 3) * L).sub(s3)
                .mul(FloatVector.fromArray(SPECIES, work, diag + (j + 3) * L)).intoArray(work, rowI + (j + 3) * L);
    }

    /** {@code L y = b}, in place on rhs. */
    private static void forward(float[] work, int k, int diag, float[] rhs) {
        for (int i = 0; i < k; i++) {
            int rowI = i * (i + 1) / 2 * L;
            FloatVector s = FloatVector.zero(SPECIES);
            for (int p = 0; p < i; p++) {
                FloatVector li = FloatVector.fromArray(SPECIES, work, rowI + p * L);
                s = li.fma(FloatVector.fromArray(SPECIES, rhs, p * L), s);
            }
            FloatVector.fromArray(SPECIES, rhs, i * L).sub(s).mul(FloatVector.fromArray(SPECIES, work, diag + i * L))
                    .intoArray(rhs, i * L);
        }
    }

    /** {@code Lᵀ x = y}, in place on rhs. */
    private static void backward(float[] work, int k, int diag, float[] rhs) {
        for (int i = k - 1; i >= 0; i--) {
            FloatVector s = FloatVector.zero(SPECIES);
            for (int p = i + 1; p < k; p++) {
                FloatVector lpi = FloatVector.fromArray(SPECIES, work, (p * (p + 1) / 2 + i) * L);
                s = lpi.fma(FloatVector.fromArray(SPECIES, rhs, p * L), s);
            }
            FloatVector.fromArray(SPECIES, rhs, i * L).sub(s).mul(FloatVector.fromArray(SPECIES, work, diag + i * L))
                    .intoArray(rhs, i * L);
        }
    }

    @Override
    public void subtractScaled(float[] y, int yOffset, float[] x, int xOffset, float a, int n) {
        FloatVector minusA = FloatVector.broadcast(SPECIES, -a);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            FloatVector xv = FloatVector.fromArray(SPECIES, x, xOffset + i);
            xv.fma(minusA, FloatVector.fromArray(SPECIES, y, yOffset + i)).intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] -= a * x[xOffset + i];
        }
    }

    @Override
    public double dot(MemorySegment a, MemorySegment b, int n) {
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = acc0;
        FloatVector acc2 = acc0;
        FloatVector acc3 = acc0;
        int i = 0;
        for (int bound = n - n % (4 * L); i < bound; i += 4 * L) {
            acc0 = load(a, i).fma(load(b, i), acc0);
            acc1 = load(a, i + L).fma(load(b, i + L), acc1);
            acc2 = load(a, i + 2 * L).fma(load(b, i + 2 * L), acc2);
            acc3 = load(a, i + 3 * L).fma(load(b, i + 3 * L), acc3);
        }
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            acc0 = load(a, i).fma(load(b, i), acc0);
        }
        double sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += a.getAtIndex(JAVA_FLOAT, i) * b.getAtIndex(JAVA_FLOAT, i);
        }
        return sum;
    }

    @Override
    public double sumSquares(MemorySegment a, int n) {
        return dot(a, a, n);
    }

    @Override
    public double sumSquaredDifference(MemorySegment a, MemorySegment b, int n) {
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = acc0;
        FloatVector acc2 = acc0;
        FloatVector acc3 = acc0;
        int i = 0;
        for (int bound = n - n % (4 * L); i < bound; i += 4 * L) {
            FloatVector d0 = load(a, i).sub(load(b, i));
            FloatVector d1 = load(a, i + L).sub(load(b, i + L));
            FloatVector d2 = load(a, i + 2 * L).sub(load(b, i + 2 * L));
            FloatVector d3 = load(a, i + 3 * L).sub(load(b, i + 3 * L));
            acc0 = d0.fma(d0, acc0);
            acc1 = d1.fma(d1, acc1);
            acc2 = d2.fma(d2, acc2);
            acc3 = d3.fma(d3, acc3);
        }
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            FloatVector d = load(a, i).sub(load(b, i));
            acc0 = d.fma(d, acc0);
        }
        double sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float d = a.getAtIndex(JAVA_FLOAT, i) - b.getAtIndex(JAVA_FLOAT, i);
            sum += d * d;
        }
        return sum;
    }

    @Override
    public int countZeros(MemorySegment a, int n) {
        int zeros = 0;
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            zeros += load(a, i).eq(0f).trueCount();
        }
        for (; i < n; i++) {
            if (a.getAtIndex(JAVA_FLOAT, i) == 0f) {
                zeros++;
            }
        }
        return zeros;
    }

    @Override
    public boolean allFinite(MemorySegment a, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            if (!load(a, i).abs().compare(VectorOperators.LE, Float.MAX_VALUE).allTrue()) {
                return false;
            }
        }
        for (; i < n; i++) {
            if (!Float.isFinite(a.getAtIndex(JAVA_FLOAT, i))) {
                return false;
            }
        }
        return true;
    }
}
