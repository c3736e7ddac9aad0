package dev.thanosj.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The kernels in plain Java loops: the fallback on every JVM, and the second opinion the Vector API
 * kernels are tested against. No {@code Math.fma} (it is very slow where the CPU lacks FMA): products are
 * rounded, then added. The batched SPD solve keeps the lane loop innermost, so C2 may vectorise it.
 */
public final class ScalarKernels implements Kernels {
    /** Systems solved side by side by {@link #spdSolveBatch}. */
    static final int LANES = 8;

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String description() {
        return "scalar (plain Java loops)";
    }

    @Override
    public int batchLanes() {
        return LANES;
    }

    @Override
    public void wandaMetric(MemorySegment row, float[] sqrtS, int factorOffset, int n, float[] out) {
        for (int c = 0; c < n; c++) {
            out[c] = Math.abs(row.getAtIndex(JAVA_FLOAT, c)) * sqrtS[factorOffset + c];
        }
    }

    @Override
    public void scoreBits(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric, int[] out) {
        for (int c = 0; c < n; c++) {
            out[c] = metric.bits(row.getAtIndex(JAVA_FLOAT, c), factor[factorOffset + c]);
        }
    }

    @Override
    public long countAndCollect(MemorySegment row, float[] factor, int factorOffset, int n, Metric metric,
            int lowBits, int highBits, long keyBase, long[] keys, int keyStart, int keyLimit) {
        long below = 0;
        int inWindow = 0;
        for (int c = 0; c < n; c++) {
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
        for (int c = 0; c < n; c++) {
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
        clear(mask, maskOffset, n);
        int count = 0;
        for (int c = 0; c < n; c++) {
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
        clear(mask, maskOffset, n);
        for (int g = 0; g < n; g += m) {
            for (int i = 0; i < m; i++) {
                int bi = metric.bits(row.getAtIndex(JAVA_FLOAT, g + i), factor[factorOffset + g + i]);
                int rank = 0;
                for (int j = 0; j < m && rank < keep; j++) {
                    int bj = metric.bits(row.getAtIndex(JAVA_FLOAT, g + j), factor[factorOffset + g + j]);
                    if (bj < bi || (bj == bi && j < i)) {
                        rank++;
                    }
                }
                if (rank < keep) {
                    int c = g + i;
                    mask[maskOffset + (c >>> 6)] |= 1L << c;
                }
            }
        }
    }

    static void clear(long[] mask, int maskOffset, int n) {
        for (int w = 0; w < (n + 63) >>> 6; w++) {
            mask[maskOffset + w] = 0;
        }
    }

    @Override
    public void reverse(MemorySegment src, MemorySegment dst, int n) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(JAVA_FLOAT, i, src.getAtIndex(JAVA_FLOAT, n - 1 - i));
        }
    }

    @Override
    public void zeroMasked(MemorySegment row, int n, long[] mask, int maskOffset) {
        for (int w = 0; w < (n + 63) >>> 6; w++) {
            long bits = mask[maskOffset + w];
            while (bits != 0) {
                int c = (w << 6) + Long.numberOfTrailingZeros(bits);
                row.setAtIndex(JAVA_FLOAT, c, 0f);
                bits &= bits - 1;
            }
        }
    }

    @Override
    public int gatherMasked(MemorySegment row, int n, long[] mask, int maskOffset, int[] indices, float[] values) {
        int k = 0;
        for (int w = 0; w < (n + 63) >>> 6; w++) {
            long bits = mask[maskOffset + w];
            while (bits != 0) {
                int c = (w << 6) + Long.numberOfTrailingZeros(bits);
                indices[k] = c;
                values[k++] = row.getAtIndex(JAVA_FLOAT, c);
                bits &= bits - 1;
            }
        }
        return k;
    }

    @Override
    public void scatter(MemorySegment row, int[] indices, float[] values, int k) {
        for (int i = 0; i < k; i++) {
            row.setAtIndex(JAVA_FLOAT, indices[i], values[i]);
        }
    }

    @Override
    public void multiplyBatch(float[] a, int n, float[] x, float[] y) {
        final int l = LANES;
        java.util.Arrays.fill(y, 0, n * l, 0f);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                float aij = a[i * n + j];
                for (int lane = 0; lane < l; lane++) {
                    y[i * l + lane] += aij * x[j * l + lane];
                }
            }
        }
    }

    @Override
    public boolean spdSolveBatch(float[] gram, int gramStride, int[] q, int k, float[] rhs, float[] work) {
        final int l = LANES;
        int diag = k * (k + 1) / 2 * l; // work[diag + i·L + lane] = 1 / L_ii
        for (int x = 0; x < k; x++) {
            int row = x * (x + 1) / 2 * l;
            for (int y = 0; y <= x; y++) {
                for (int lane = 0; lane < l; lane++) {
                    int qx = q[x * l + lane];
                    int qy = q[y * l + lane];
                    work[row + y * l + lane] = qx < 0 || qy < 0 ? (x == y ? 1f : 0f) : gram[qx * gramStride + qy];
                }
            }
        }
        float[] acc = new float[l];
        for (int i = 0; i < k; i++) {
            int rowI = i * (i + 1) / 2 * l;
            for (int j = 0; j <= i; j++) {
                int rowJ = j * (j + 1) / 2 * l;
                System.arraycopy(work, rowI + j * l, acc, 0, l);
                for (int p = 0; p < j; p++) {
                    for (int lane = 0; lane < l; lane++) {
                        acc[lane] -= work[rowI + p * l + lane] * work[rowJ + p * l + lane];
                    }
                }
                if (j < i) {
                    for (int lane = 0; lane < l; lane++) {
                        work[rowI + j * l + lane] = acc[lane] * work[diag + j * l + lane];
                    }
                } else {
                    for (int lane = 0; lane < l; lane++) {
                        if (!(acc[lane] > 0f)) {
                            return false;
                        }
                        float d = (float) Math.sqrt(acc[lane]);
                        work[rowI + i * l + lane] = d;
                        work[diag + i * l + lane] = 1f / d;
                    }
                }
            }
        }
        for (int i = 0; i < k; i++) { // L y = b
            int rowI = i * (i + 1) / 2 * l;
            for (int lane = 0; lane < l; lane++) {
                float s = rhs[i * l + lane];
                for (int p = 0; p < i; p++) {
                    s -= work[rowI + p * l + lane] * rhs[p * l + lane];
                }
                rhs[i * l + lane] = s * work[diag + i * l + lane];
            }
        }
        for (int i = k - 1; i >= 0; i--) { // Lᵀ x = y
            for (int lane = 0; lane < l; lane++) {
                float s = rhs[i * l + lane];
                for (int p = i + 1; p < k; p++) {
                    s -= work[(p * (p + 1) / 2 + i) * l + lane] * rhs[p * l + lane];
                }
                rhs[i * l + lane] = s * work[diag + i * l + lane];
            }
        }
        return true;
    }

    @Override
    public void subtractScaled(float[] y, int yOffset, float[] x, int xOffset, float a, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] -= a * x[xOffset + i];
        }
    }

    @Override
    public double dot(MemorySegment a, MemorySegment b, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += a.getAtIndex(JAVA_FLOAT, i) * b.getAtIndex(JAVA_FLOAT, i);
        }
        return sum;
    }

    @Override
    public double sumSquares(MemorySegment a, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = a.getAtIndex(JAVA_FLOAT, i);
            sum += v * v;
        }
        return sum;
    }

    @Override
    public double sumSquaredDifference(MemorySegment a, MemorySegment b, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = a.getAtIndex(JAVA_FLOAT, i) - b.getAtIndex(JAVA_FLOAT, i);
            sum += v * v;
        }
        return sum;
    }

    @Override
    public int countZeros(MemorySegment a, int n) {
        int zeros = 0;
        for (int i = 0; i < n; i++) {
            if (a.getAtIndex(JAVA_FLOAT, i) == 0f) {
                zeros++;
            }
        }
        return zeros;
    }

    @Override
    public boolean allFinite(MemorySegment a, int n) {
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(a.getAtIndex(JAVA_FLOAT, i))) {
                return false;
            }
        }
        return true;
    }
}
