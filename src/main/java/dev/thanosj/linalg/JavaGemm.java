package dev.thanosj.linalg;

import dev.thanosj.concurrent.Workers;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Blocked single-precision GEMM on the Vector API, {@code C = alpha * op(A) * op(B) + beta * C} on row-major
 * views, in the shape of GotoBLAS/BLIS turned to row-major, so the vector dimension runs along the rows of
 * B and C.
 *
 * <pre>
 * split n (or m) into one chunk per thread, each running, with its own packing buffers:
 * for jc in [0, n) step NC                 a column block of C
 *   for pc in [0, k) step KC               pack op(B)[pc:+KC, jc:+NC] into NR-wide strips    (KC x NC, L2)
 *     for ic in [0, m) step MC             pack alpha * op(A)[ic:+MC, pc:+KC] into MR-row strips (MC x KC, L2)
 *       for ir in [0, MC) step MR          one strip of A, k-major                          (KC x MR, L1)
 *         for jr in [0, NC) step NR        micro-kernel on the MR x NR tile C[ic+ir:+MR, jc+jr:+NR]
 *           for p in [0, KC)               load NR/L vectors of B, broadcast MR values of A, MR*NR/L FMAs
 * </pre>
 *
 * The micro-kernel is register-blocked {@value #MR} rows by 2 vectors ({@code NR = 2 * L}, 32 floats at
 * 512 bits): 12 independent accumulators keep both FMA pipes busy through the FMA latency, and with 2
 * registers of B and 1 broadcast the kernel needs 15 vector registers, so it does not spill on AVX2 (16
 * registers) either. The k loop is not unrolled by hand: each iteration already has 12 independent FMAs,
 * and C2 unrolls the counted loop. Partial tiles at the right and bottom edges run the same kernel on
 * zero-padded panels into a small tile, which is then merged into C.
 *
 * <p>FMA: the accumulation uses {@link FloatVector#fma} only when the JVM runs with hardware FMA
 * ({@code -XX:+UseFMA}, true on every x86-64 since Haswell and on AArch64); without it the Vector API would
 * compute each lane with {@link Math#fma} in software, so the kernel multiplies and adds instead.
 *
 * <p>Packing buffers are small {@code float[]} panels ({@code KC x NC} and {@code MC x KC} floats, 512 KB
 * and 144 KB at most) allocated once per call and per thread; nothing here copies a whole matrix.
 */
final class JavaGemm {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector. */
    static final int L = SPECIES.length();
    /** Rows of the register tile. */
    static final int MR = 6;
    /** Columns of the register tile: two vectors. */
    static final int NR = 2 * L;
    /** Depth of one packed panel. */
    static final int KC = 256;
    /** Rows of one packed block of A (a multiple of MR). */
    static final int MC = 24 * MR;
    /** Columns of one packed panel of B (a multiple of NR). */
    static final int NC = 512;
    /** Products with fewer multiply-adds than this run on the calling thread. */
    static final long PARALLEL_MIN_WORK = 1L << 21;
    /** Whether the CPU has hardware FMA. */
    static final boolean FMA = hasHardwareFma();

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private JavaGemm() {
    }

    private static boolean hasHardwareFma() {
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return Boolean.parseBoolean(bean.getVMOption("UseFMA").getValue());
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** {@code a * b + c}, fused when the hardware can. */
    static FloatVector madd(FloatVector a, FloatVector b, FloatVector c) {
        return FMA ? a.fma(b, c) : a.mul(b).add(c);
    }

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C} on up to {@code threads} threads; modifies C. Shapes are
     * valid (checked by the caller); {@code beta == 0} overwrites C without reading it.
     */
    static void gemm(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b, float beta,
            FloatMatrix c, int threads) {
        int m = c.rows();
        int n = c.cols();
        int k = transA ? a.rows() : a.cols();
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            scale(beta, c);
            return;
        }
        long work = (long) m * n * k;
        int chunks = threads <= 1 || work < PARALLEL_MIN_WORK ? 1 : threads;
        if (chunks > 1 && n >= m && n >= 2 * NR) {
            int width = roundUp(ceilDiv(n, Math.min(chunks, ceilDiv(n, NR))), NR);
            int count = ceilDiv(n, width);
            Workers.parallelFor(count, t -> {
                int j0 = t * width;
                int w = Math.min(width, n - j0);
                FloatMatrix bPart = transB ? b.view(j0, 0, w, k) : b.view(0, j0, k, w);
                serial(transA, transB, alpha, a, bPart, beta, c.view(0, j0, m, w), k);
            });
        } else if (chunks > 1 && m >= 2 * MR) {
            int height = roundUp(ceilDiv(m, Math.min(chunks, ceilDiv(m, MR))), MR);
            int count = ceilDiv(m, height);
            Workers.parallelFor(count, t -> {
                int i0 = t * height;
                int h = Math.min(height, m - i0);
                FloatMatrix aPart = transA ? a.view(0, i0, k, h) : a.view(i0, 0, h, k);
                serial(transA, transB, alpha, aPart, b, beta, c.view(i0, 0, h, n), k);
            });
        } else {
            serial(transA, transB, alpha, a, b, beta, c, k);
        }
    }

    /** {@code C = beta * C}, writing zeros (not {@code 0 * C}) when beta is 0; modifies C. */
    static void scale(float beta, FloatMatrix c) {
        if (beta == 0f) {
            c.fill(0f);
            return;
        }
        if (beta == 1f) {
            return;
        }
        MemorySegment seg = c.segment();
        int n = c.cols();
        int bound = SPECIES.loopBound(n);
        for (int i = 0; i < c.rows(); i++) {
            long row = c.byteOffset(i, 0);
            int j = 0;
            for (; j < bound; j += L) {
                long off = row + (long) j * Float.BYTES;
                FloatVector.fromMemorySegment(SPECIES, seg, off, NATIVE).mul(beta).intoMemorySegment(seg, off, NATIVE);
            }
            for (; j < n; j++) {
                long off = row + (long) j * Float.BYTES;
                seg.set(FLOAT, off, beta * seg.get(FLOAT, off));
            }
        }
    }

    private static void serial(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b,
            float beta, FloatMatrix c, int k) {
        int m = c.rows();
        int n = c.cols();
        int kcMax = Math.min(KC, k);
        float[] bPack = new float[kcMax * roundUp(Math.min(NC, n), NR)];
        float[] aPack = new float[kcMax * Math.min(MC, roundUp(m, MR))];
        float[] tile = new float[MR * NR];
        float[] line = new float[Math.max(kcMax, Math.max(Math.min(NC, n), Math.min(MC, m)))];
        MemorySegment cSeg = c.segment();
        long ldc = (long) c.rowStride() * Float.BYTES;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                float betaHere = pc == 0 ? beta : 1f;
                packB(transB, b, pc, kc, jc, nc, bPack, line);
                for (int ic = 0; ic < m; ic += MC) {
                    int mc = Math.min(MC, m - ic);
                    packA(transA, alpha, a, ic, mc, pc, kc, aPack, line);
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = Math.min(MR, mc - ir);
                        int aOff = ir * kc;
                        for (int jr = 0; jr < nc; jr += NR) {
                            int nr = Math.min(NR, nc - jr);
                            kernel(kc, aPack, aOff, bPack, jr * kc, tile);
                            if (mr == MR && nr == NR) {
                                store(tile, betaHere, cSeg, c.byteOffset(ic + ir, jc + jr), ldc);
                            } else {
                                merge(tile, mr, nr, betaHere, c, ic + ir, jc + jr);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs {@code op(B)[pc:+kc, jc:+nc]} into strips of NR columns, each {@code kc x NR}, zero-padding the
     * last strip. Every row of B is first copied whole into {@code line} and scattered from there: loops of
     * scalar segment reads with strided writes made C2 deoptimise over and over (profile_predicate traps).
     */
    private static void packB(boolean transB, FloatMatrix b, int pc, int kc, int jc, int nc, float[] dst,
            float[] line) {
        MemorySegment seg = b.segment();
        int full = nc / NR;
        int rest = nc - full * NR;
        if (!transB) {
            for (int p = 0; p < kc; p++) {
                MemorySegment.copy(seg, FLOAT, b.byteOffset(pc + p, jc), line, 0, nc);
                int d = p * NR;
                for (int s = 0; s < full; s++, d += kc * NR) {
                    System.arraycopy(line, s * NR, dst, d, NR);
                }
                if (rest > 0) {
                    System.arraycopy(line, full * NR, dst, d, rest);
                    Arrays.fill(dst, d + rest, d + NR, 0f);
                }
            }
        } else {
            for (int jj = 0; jj < nc; jj++) {
                MemorySegment.copy(seg, FLOAT, b.byteOffset(jc + jj, pc), line, 0, kc);
                int d = (jj / NR) * kc * NR + jj % NR;
                for (int p = 0; p < kc; p++) {
                    dst[d + p * NR] = line[p];
                }
            }
            if (rest > 0) {
                int d = full * kc * NR;
                for (int p = 0; p < kc; p++) {
                    Arrays.fill(dst, d + p * NR + rest, d + (p + 1) * NR, 0f);
                }
            }
        }
    }

    /**
     * Packs {@code alpha * op(A)[ic:+mc, pc:+kc]} into strips of MR rows, each k-major ({@code kc x MR}),
     * zero-padding the last strip; reads A a whole row at a time into {@code line}, as {@link #packB} does.
     */
    private static void packA(boolean transA, float alpha, FloatMatrix a, int ic, int mc, int pc, int kc,
            float[] dst, float[] line) {
        MemorySegment seg = a.segment();
        int stripSize = kc * MR;
        int full = mc / MR;
        int rest = mc - full * MR;
        if (!transA) {
            for (int ii = 0; ii < mc; ii++) {
                MemorySegment.copy(seg, FLOAT, a.byteOffset(ic + ii, pc), line, 0, kc);
                int d = (ii / MR) * stripSize + ii % MR;
                for (int p = 0; p < kc; p++) {
                    dst[d + p * MR] = alpha * line[p];
                }
            }
            if (rest > 0) {
                int d = full * stripSize;
                for (int p = 0; p < kc; p++) {
                    Arrays.fill(dst, d + p * MR + rest, d + (p + 1) * MR, 0f);
                }
            }
        } else {
            for (int p = 0; p < kc; p++) {
                MemorySegment.copy(seg, FLOAT, a.byteOffset(pc + p, ic), line, 0, mc);
                int d = p * MR;
                int src = 0;
                for (int s = 0; s < full; s++, d += stripSize, src += MR) { // unrolled for MR = 6
                    dst[d] = alpha * line[src];
                    dst[d + 1] = alpha * line[src + 1];
                    dst[d + 2] = alpha * line[src + 2];
                    dst[d + 3] = alpha * line[src + 3];
                    dst[d + 4] = alpha * line[src + 4];
                    dst[d + 5] = alpha * line[src + 5];
                }
                if (rest > 0) {
                    for (int ii = 0; ii < MR; ii++) {
                        dst[d + ii] = ii < rest ? alpha * line[src + ii] : 0f;
                    }
                }
            }
        }
    }

    /** {@code C[ir:+mr, jc:+nr] = tile + beta * C}, or {@code = tile} when beta is 0; modifies C. */
    private static void merge(float[] tile, int mr, int nr, float beta, FloatMatrix c, int ir, int jc) {
        MemorySegment seg = c.segment();
        for (int i = 0; i < mr; i++) {
            long row = c.byteOffset(ir + i, jc);
            if (beta != 0f) {
                for (int j = 0; j < nr; j++) {
                    long off = row + (long) j * Float.BYTES;
                    tile[i * NR + j] += beta * seg.get(FLOAT, off);
                }
            }
            MemorySegment.copy(tile, i * NR, seg, FLOAT, row, nr);
        }
    }

    /**
     * The MR x NR micro-kernel: {@code tile = Apanel * Bstrip} over depth kc (tile row-major, NR floats a
     * row); modifies tile. It stores into a small array rather than into C so that every vector it touches
     * stays inside this method, where C2 keeps them in registers (a helper that received the accumulators
     * would not be inlined after the loop and would box them).
     */
    private static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(SPECIES);
        FloatVector c01 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c40 = c00;
        FloatVector c41 = c00;
        FloatVector c50 = c00;
        FloatVector c51 = c00;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bo);
            FloatVector b1 = FloatVector.fromArray(SPECIES, bp, bo + L);
            FloatVector x = FloatVector.broadcast(SPECIES, ap[ao]);
            c00 = madd(x, b0, c00);
            c01 = madd(x, b1, c01);
            x = FloatVector.broadcast(SPECIES, ap[ao + 1]);
            c10 = madd(x, b0, c10);
            c11 = madd(x, b1, c11);
            x = FloatVector.broadcast(SPECIES, ap[ao + 2]);
            c20 = madd(x, b0, c20);
            c21 = madd(x, b1, c21);
            x = FloatVector.broadcast(SPECIES, ap[ao + 3]);
            c30 = madd(x, b0, c30);
            c31 = madd(x, b1, c31);
            x = FloatVector.broadcast(SPECIES, ap[ao + 4]);
            c40 = madd(x, b0, c40);
            c41 = madd(x, b1, c41);
            x = FloatVector.broadcast(SPECIES, ap[ao + 5]);
            c50 = madd(x, b0, c50);
            c51 = madd(x, b1, c51);
            ao += MR;
            bo += NR;
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
    }

    /** {@code C[0:MR, 0:NR] = tile + beta * C} (or {@code = tile} when beta is 0) at byte co, rows ldc apart. */
    private static void store(float[] tile, float beta, MemorySegment c, long co, long ldc) {
        for (int i = 0; i < MR; i++) {
            long row = co + i * ldc;
            for (int v = 0; v < NR; v += L) {
                long off = row + (long) v * Float.BYTES;
                FloatVector t = FloatVector.fromArray(SPECIES, tile, i * NR + v);
                if (beta == 1f) {
                    t = t.add(FloatVector.fromMemorySegment(SPECIES, c, off, NATIVE));
                } else if (beta != 0f) {
                    t = t.add(FloatVector.fromMemorySegment(SPECIES, c, off, NATIVE).mul(beta));
                }
                t.intoMemorySegment(c, off, NATIVE);
            }
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }
}
