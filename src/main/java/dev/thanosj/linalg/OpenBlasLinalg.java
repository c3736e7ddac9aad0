package dev.thanosj.linalg;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@link Linalg} on OpenBLAS through the Foreign Function &amp; Memory API (library located by
 * {@link OpenBlasLibrary}). BLAS goes through CBLAS with {@code CblasRowMajor} and the leading dimension
 * {@code lda = rowStride}. LAPACK goes through the Fortran symbols ({@code spotrf_}, {@code spotri_}), which
 * every OpenBLAS build exports (Debian's has no LAPACKE): scalars by reference, and a hidden trailing
 * {@code size_t} length for each CHARACTER argument. Fortran reads a row-major buffer as its transpose; for
 * a symmetric matrix that is the same matrix with the triangles swapped, so the row-major LOWER triangle is
 * Fortran's {@code 'U'}.
 *
 * <p>The LU routines ({@code sgetrf}, {@code sgesv}, {@code sgetri}) are deliberately not bound: threaded,
 * they overflow a Java thread's native stack and kill the JVM. The LAPACK calls that are bound run on
 * {@link LargeStackExecutor} from order {@value #LARGE_STACK_ORDER} on ({@link #posv} from
 * {@value #POSV_LARGE_STACK_ORDER}); below {@value #LARGE_STACK_ORDER} they run on the caller through
 * {@linkplain Linker.Option#critical critical} downcalls (no thread-state transition, which these few
 * microseconds do not need). BLAS-3 runs on the caller: {@code sgemm}, {@code ssyrk}, {@code strsm} and
 * {@code spotrf} at order 2048 with 64 OpenBLAS threads were measured to complete on a 128 KB thread stack,
 * so the executor is a safeguard for LAPACK, not a measured need of these routines.
 *
 * <p>OpenBLAS's thread count is process-wide; it starts at the number of available processors.
 */
final class OpenBlasLinalg extends CheckedLinalg {
    /** Order from which potrf and potri run on the large-stack executor, and posv stops using critical calls. */
    static final int LARGE_STACK_ORDER = 64;

    /**
     * Order from which posv runs on the large-stack executor. posv is called per row from parallel loops
     * with orders up to the block size (128); the hand-off costs about 6 µs (measured), which doubled a
     * 64 x 64 solve, and is below 5% of the work from this order on.
     */
    static final int POSV_LARGE_STACK_ORDER = 256;

    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;
    private static final int CBLAS_UPPER = 121;
    private static final int CBLAS_LOWER = 122;
    private static final int NON_UNIT = 131;
    private static final int CBLAS_LEFT = 141;
    private static final int CBLAS_RIGHT = 142;

    /** Fortran's name, in a column-major reading of a row-major buffer, for each row-major triangle. */
    private static final byte FORTRAN_FOR_ROW_MAJOR_LOWER = 'U';
    private static final byte FORTRAN_FOR_ROW_MAJOR_UPPER = 'L';

    /** Side of the square tiles the triangle copies and the symmetry check walk (64 x 64 floats = 16 KB). */
    private static final int TILE = 64;

    private static final List<String> REQUIRED = List.of("cblas_sgemm", "cblas_ssyrk", "cblas_strsm",
            "cblas_strmm", "spotrf_", "spotri_", "openblas_set_num_threads", "openblas_get_num_threads",
            "openblas_get_config");

    /**
     * The library, loaded once per process, or why it could not be: kept so that every {@link #load()}
     * reports the same reason.
     */
    private static final class Loaded {
        static final OpenBlasLibrary LIBRARY;
        static final LinalgUnavailableException FAILURE;

        static {
            OpenBlasLibrary library = null;
            LinalgUnavailableException failure = null;
            try {
                library = OpenBlasLibrary.load(REQUIRED);
            } catch (LinalgUnavailableException e) {
                failure = e;
            } catch (IllegalCallerException e) {
                failure = new LinalgUnavailableException("OpenBLAS needs native access: run the JVM with "
                        + "--enable-native-access=ALL-UNNAMED (" + e.getMessage() + ")", e);
            }
            LIBRARY = library;
            FAILURE = failure;
        }
    }

    /**
     * Downcall handles, created once. Static finals, so the JIT treats them as constants and inlines the
     * calls; initialised only after {@link Loaded} succeeded.
     */
    @SuppressWarnings("restricted") // binding native functions is this class's purpose
    private static final class Native {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final SymbolLookup SYMBOLS = Loaded.LIBRARY.symbols();
        private static final Linker.Option CRITICAL = Linker.Option.critical(false);

        private static final FunctionDescriptor GEMM = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS,
                JAVA_INT);
        private static final FunctionDescriptor SYRK = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT);
        private static final FunctionDescriptor TRIANGULAR = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT);
        /** {@code (char *uplo, int *n, float *a, int *lda, int *info, size_t uplo_len)}. */
        private static final FunctionDescriptor FORTRAN_POTRF = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);

        static final MethodHandle SGEMM = handle("cblas_sgemm", GEMM);
        static final MethodHandle SSYRK = handle("cblas_ssyrk", SYRK);
        static final MethodHandle STRSM = handle("cblas_strsm", TRIANGULAR);
        static final MethodHandle STRSM_CRITICAL = handle("cblas_strsm", TRIANGULAR, CRITICAL);
        static final MethodHandle STRMM = handle("cblas_strmm", TRIANGULAR);
        static final MethodHandle SPOTRF = handle("spotrf_", FORTRAN_POTRF);
        static final MethodHandle SPOTRF_CRITICAL = handle("spotrf_", FORTRAN_POTRF, CRITICAL);
        static final MethodHandle SPOTRI = handle("spotri_", FORTRAN_POTRF);
        static final MethodHandle SPOTRI_CRITICAL = handle("spotri_", FORTRAN_POTRF, CRITICAL);
        static final MethodHandle SET_NUM_THREADS = handle("openblas_set_num_threads",
                FunctionDescriptor.ofVoid(JAVA_INT));
        static final MethodHandle GET_NUM_THREADS = handle("openblas_get_num_threads",
                FunctionDescriptor.of(JAVA_INT));
        static final String CONFIG = string("openblas_get_config");
        static final String CORENAME = string("openblas_get_corename");

        static {
            setNumThreads(Runtime.getRuntime().availableProcessors());
        }

        private static MethodHandle handle(String name, FunctionDescriptor descriptor, Linker.Option... options) {
            return LINKER.downcallHandle(SYMBOLS.findOrThrow(name), descriptor, options);
        }

        /** The C string a {@code const char *f(void)} returns, or null when the library lacks {@code f}. */
        private static String string(String function) {
            return SYMBOLS.find(function).map(address -> {
                try {
                    MemorySegment text = (MemorySegment) LINKER.downcallHandle(address,
                            FunctionDescriptor.of(ADDRESS)).invokeExact();
                    return text.equals(MemorySegment.NULL) ? null : text.reinterpret(Long.MAX_VALUE).getString(0).trim();
                } catch (Throwable e) {
                    throw propagate(e);
                }
            }).orElse(null);
        }
    }

    /**
     * Per-thread native scratch for the Fortran scalars passed by reference: {@code n}, {@code lda},
     * {@code info} and the {@code uplo} character. Freed by the GC with its thread.
     */
    private static final ThreadLocal<FortranScalars> SCALARS = ThreadLocal.withInitial(FortranScalars::new);

    private static final class FortranScalars {
        final MemorySegment n;
        final MemorySegment lda;
        final MemorySegment info;
        final MemorySegment uplo;

        FortranScalars() {
            MemorySegment block = Arena.ofAuto().allocate(16, 4);
            n = block.asSlice(0, 4);
            lda = block.asSlice(4, 4);
            info = block.asSlice(8, 4);
            uplo = block.asSlice(12, 1);
        }

        /** Sets the scalars of a call on an {@code order x order} matrix; clears {@code info}. */
        FortranScalars set(byte uploChar, int order, int leadingDimension) {
            uplo.set(JAVA_BYTE, 0, uploChar);
            n.set(JAVA_INT, 0, order);
            lda.set(JAVA_INT, 0, leadingDimension);
            info.set(JAVA_INT, 0, 0);
            return this;
        }

        int info() {
            return info.get(JAVA_INT, 0);
        }
    }

    private final String origin;
    private final String config;
    private final String threadTimeout;

    /** Creates the downcall handles on first use (they are shared by every instance). */
    private OpenBlasLinalg(OpenBlasLibrary library) {
        this.origin = library.origin();
        this.threadTimeout = library.threadTimeout();
        this.config = Native.CONFIG == null ? "" : Native.CONFIG;
    }

    /**
     * The OpenBLAS provider; the first call loads the library (and may extract it into the cache folder).
     *
     * @throws LinalgUnavailableException saying what was tried when no OpenBLAS can be loaded
     */
    static Linalg load() {
        if (Loaded.FAILURE != null) {
            throw new LinalgUnavailableException(Loaded.FAILURE.getMessage(), Loaded.FAILURE);
        }
        return new OpenBlasLinalg(Loaded.LIBRARY);
    }

    @Override
    public String name() {
        return "openblas";
    }

    @Override
    public String description() {
        String version = "OpenBLAS";
        String options = config;
        String[] words = config.split("\\s+", 3);
        if (words.length >= 2 && words[0].equals("OpenBLAS")) {
            version = "OpenBLAS " + words[1];
            options = words.length == 3 ? words[2] : "";
        }
        return version + " (" + origin + ") config=" + options
                + (Native.CORENAME == null ? "" : " core=" + Native.CORENAME)
                + (threadTimeout == null ? "" : " idle-spin=2^" + threadTimeout + " cycles") + " threads=" + threads();
    }

    @Override
    public int threads() {
        try {
            return (int) Native.GET_NUM_THREADS.invokeExact();
        } catch (Throwable e) {
            throw propagate(e);
        }
    }

    /** Sets OpenBLAS's process-wide thread count (it caps the value at its build's maximum). */
    @Override
    public void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        setNumThreads(threads);
    }

    private static void setNumThreads(int threads) {
        try {
            Native.SET_NUM_THREADS.invokeExact(threads);
        } catch (Throwable e) {
            throw propagate(e);
        }
    }

    @Override
    protected void doGemm(boolean transA, boolean transB, float alpha, FloatMatrix a, FloatMatrix b, float beta,
            FloatMatrix c) {
        if (onHeap(a, b, c)) {
            viaOffHeapCopies(m -> doGemm(transA, transB, alpha, m[0], m[1], beta, m[2]), a, b, c);
            return;
        }
        int k = transA ? a.rows() : a.cols();
        try {
            Native.SGEMM.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, c.rows(),
                    c.cols(), k, alpha, a.segment(), a.rowStride(), b.segment(), b.rowStride(), beta, c.segment(),
                    c.rowStride());
        } catch (Throwable e) {
            throw propagate(e);
        }
    }

    /**
     * {@code ssyrk} computes the lower triangle, which is then copied to the upper one. When {@code beta != 0}
     * and C is not symmetric, {@code ssyrk} (which reads one triangle of C) would not compute
     * {@code alpha·AAᵀ + beta·C}, so that rare case runs as a GEMM.
     */
    @Override
    protected void doSyrk(boolean transA, float alpha, FloatMatrix a, float beta, FloatMatrix c) {
        if (onHeap(a, c)) {
            viaOffHeapCopies(m -> doSyrk(transA, alpha, m[0], beta, m[1]), a, c);
            return;
        }
        if (beta != 0 && !isSymmetric(c)) {
            doGemm(transA, !transA, alpha, a, a, beta, c);
            return;
        }
        int k = transA ? a.rows() : a.cols();
        try {
            Native.SSYRK.invokeExact(ROW_MAJOR, CBLAS_LOWER, transA ? TRANS : NO_TRANS, c.rows(), k, alpha,
                    a.segment(), a.rowStride(), beta, c.segment(), c.rowStride());
        } catch (Throwable e) {
            throw propagate(e);
        }
        copyTriangle(c, true);
    }

    @Override
    protected void doPotrf(Triangle uplo, FloatMatrix a) {
        if (onHeap(a)) {
            viaOffHeapCopies(m -> doPotrf(uplo, m[0]), a);
            return;
        }
        checkInfo("spotrf_", factorRoutine(OpenBlasLinalg::potrf, uplo, a), a.rows());
        zeroStrictTriangle(a, uplo == Triangle.LOWER);
    }

    @Override
    protected void doPotri(Triangle uplo, FloatMatrix factor) {
        if (onHeap(factor)) {
            viaOffHeapCopies(m -> doPotri(uplo, m[0]), factor);
            return;
        }
        checkInfo("spotri_", factorRoutine(OpenBlasLinalg::potri, uplo, factor), factor.rows());
        copyTriangle(factor, uplo == Triangle.LOWER);
    }

    @Override
    protected void doTrsm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) {
        triangular(Native.STRSM, side, uplo, transA, alpha, a, b);
    }

    @Override
    protected void doTrmm(Side side, Triangle uplo, boolean transA, float alpha, FloatMatrix a, FloatMatrix b) {
        triangular(Native.STRMM, side, uplo, transA, alpha, a, b);
    }

    /** {@code cblas_strsm} or {@code cblas_strmm} (same signature) on row-major views; modifies b. */
    private static void triangular(MethodHandle routine, Side side, Triangle uplo, boolean transA, float alpha,
            FloatMatrix a, FloatMatrix b) {
        if (onHeap(a, b)) {
            viaOffHeapCopies(m -> triangular(routine, side, uplo, transA, alpha, m[0], m[1]), a, b);
            return;
        }
        try {
            routine.invokeExact(ROW_MAJOR, side == Side.LEFT ? CBLAS_LEFT : CBLAS_RIGHT,
                    uplo == Triangle.LOWER ? CBLAS_LOWER : CBLAS_UPPER, transA ? TRANS : NO_TRANS, NON_UNIT,
                    b.rows(), b.cols(), alpha, a.segment(), a.rowStride(), b.segment(), b.rowStride());
        } catch (Throwable e) {
            throw propagate(e);
        }
    }

    /**
     * {@code spotrf_} on the row-major lower triangle, then two row-major {@code strsm}s ({@code L Y = B},
     * {@code Lᵀ X = Y}), rather than {@code sposv_}: its Fortran B is column-major, a row-major B would need a
     * transposed copy, and this sequence was measured faster anyway (8x8: 0.5 µs against 1.0 µs).
     */
    @Override
    protected void doPosv(FloatMatrix a, FloatMatrix b) {
        if (onHeap(a, b)) {
            viaOffHeapCopies(m -> doPosv(m[0], m[1]), a, b);
            return;
        }
        int k = a.rows();
        int info;
        if (k >= POSV_LARGE_STACK_ORDER) {
            requireUsable(a);
            requireUsable(b);
            info = LargeStackExecutor.run(() -> solve(false, LargeStackExecutor.forThisThread(a.segment()), k,
                    a.rowStride(), LargeStackExecutor.forThisThread(b.segment()), b.cols(), b.rowStride()));
        } else {
            info = solve(k < LARGE_STACK_ORDER, a.segment(), k, a.rowStride(), b.segment(), b.cols(),
                    b.rowStride());
        }
        checkInfo("spotrf_", info, k);
        zeroStrictTriangle(a, true);
    }

    /** Factors row-major {@code a} (lower) and, when that succeeds, overwrites {@code b} with the solution. */
    private static int solve(boolean critical, MemorySegment a, int k, int lda, MemorySegment b, int nrhs,
            int ldb) {
        int info = potrf(critical, FORTRAN_FOR_ROW_MAJOR_LOWER, a, k, lda);
        if (info != 0 || nrhs == 0) {
            return info;
        }
        try {
            if (critical) {
                Native.STRSM_CRITICAL.invokeExact(ROW_MAJOR, CBLAS_LEFT, CBLAS_LOWER, NO_TRANS, NON_UNIT, k, nrhs,
                        1f, a, lda, b, ldb);
                Native.STRSM_CRITICAL.invokeExact(ROW_MAJOR, CBLAS_LEFT, CBLAS_LOWER, TRANS, NON_UNIT, k, nrhs, 1f,
                        a, lda, b, ldb);
            } else {
                Native.STRSM.invokeExact(ROW_MAJOR, CBLAS_LEFT, CBLAS_LOWER, NO_TRANS, NON_UNIT, k, nrhs, 1f, a,
                        lda, b, ldb);
                Native.STRSM.invokeExact(ROW_MAJOR, CBLAS_LEFT, CBLAS_LOWER, TRANS, NON_UNIT, k, nrhs, 1f, a, lda,
                        b, ldb);
            }
        } catch (Throwable e) {
            throw propagate(e);
        }
        return 0;
    }

    /** A LAPACK routine on one square matrix: {@code routine(uplo, a, n, lda)}, returning LAPACK's info. */
    @FunctionalInterface
    private interface FactorRoutine {
        int call(boolean critical, byte uplo, MemorySegment a, int n, int lda);
    }

    /**
     * Runs {@code routine} on {@code a}: from order {@value #LARGE_STACK_ORDER} on the large-stack executor
     * (LAPACK may recurse deeply), below it on the caller as a critical call.
     */
    private static int factorRoutine(FactorRoutine routine, Triangle uplo, FloatMatrix a) {
        int n = a.rows();
        byte fortranUplo = fortranUplo(uplo);
        if (n >= LARGE_STACK_ORDER) {
            requireUsable(a);
            return LargeStackExecutor.run(() -> routine.call(false, fortranUplo,
                    LargeStackExecutor.forThisThread(a.segment()), n, a.rowStride()));
        }
        return routine.call(true, fortranUplo, a.segment(), n, a.rowStride());
    }

    /**
     * {@code spotrf_}, returning its {@code info}; a NaN pivot also counts as not positive, as in reference
     * LAPACK ({@code ajj <= 0 || isnan(ajj)}), where OpenBLAS's own {@code potrf} lets the NaN through.
     */
    private static int potrf(boolean critical, byte uplo, MemorySegment a, int n, int lda) {
        FortranScalars s = SCALARS.get().set(uplo, n, lda);
        try {
            if (critical) {
                Native.SPOTRF_CRITICAL.invokeExact(s.uplo, s.n, a, s.lda, s.info, 1L);
            } else {
                Native.SPOTRF.invokeExact(s.uplo, s.n, a, s.lda, s.info, 1L);
            }
        } catch (Throwable e) {
            throw propagate(e);
        }
        int info = s.info();
        if (info == 0) {
            for (int j = 0; j < n; j++) {
                if (Float.isNaN(a.getAtIndex(JAVA_FLOAT, (long) j * lda + j))) {
                    return j + 1;
                }
            }
        }
        return info;
    }

    private static int potri(boolean critical, byte uplo, MemorySegment a, int n, int lda) {
        FortranScalars s = SCALARS.get().set(uplo, n, lda);
        try {
            if (critical) {
                Native.SPOTRI_CRITICAL.invokeExact(s.uplo, s.n, a, s.lda, s.info, 1L);
            } else {
                Native.SPOTRI.invokeExact(s.uplo, s.n, a, s.lda, s.info, 1L);
            }
        } catch (Throwable e) {
            throw propagate(e);
        }
        return s.info();
    }

    private static byte fortranUplo(Triangle uplo) {
        return uplo == Triangle.LOWER ? FORTRAN_FOR_ROW_MAJOR_LOWER : FORTRAN_FOR_ROW_MAJOR_UPPER;
    }

    /**
     * LAPACK's {@code info}: positive is a leading minor that is not positive (for {@code spotri_}, a zero
     * diagonal element of the factor, i.e. a singular matrix), negative is an invalid argument, a bug here.
     */
    private static void checkInfo(String routine, int info, int n) {
        if (info > 0) {
            throw new NotPositiveDefiniteException(info, n);
        }
        if (info < 0) {
            throw new IllegalStateException(routine + " rejected argument " + -info + " (order " + n + ")");
        }
    }

    /**
     * Checks, on the caller, what a downcall would check itself if it ran here: the matrix's memory is alive
     * and this thread may access it. Needed before a call is handed to the large-stack executor, which may
     * receive an unchecked view of it.
     */
    private static void requireUsable(FloatMatrix m) {
        MemorySegment segment = m.segment();
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException("the memory of " + m + " belongs to another thread");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("Already closed: the arena of " + m + " is closed");
        }
    }

    /** Sets the strictly upper (when {@code keepLower}) or strictly lower triangle of square {@code m} to zero. */
    private static void zeroStrictTriangle(FloatMatrix m, boolean keepLower) {
        int n = m.rows();
        MemorySegment segment = m.segment();
        for (int r = 0; r < n; r++) {
            long from = keepLower ? m.byteOffset(r, r + 1) : m.byteOffset(r, 0);
            long count = keepLower ? n - r - 1 : r;
            segment.asSlice(from, count * Float.BYTES).fill((byte) 0);
        }
    }

    /**
     * Copies the lower triangle of square {@code m} onto the upper one ({@code lowerToUpper}) or the reverse,
     * in place, tile by tile so that the strided side stays in cache.
     */
    private static void copyTriangle(FloatMatrix m, boolean lowerToUpper) {
        int n = m.rows();
        long stride = m.rowStride();
        MemorySegment s = m.segment();
        for (int i0 = 0; i0 < n; i0 += TILE) {
            int i1 = Math.min(i0 + TILE, n);
            for (int j0 = i0; j0 < n; j0 += TILE) {
                int j1 = Math.min(j0 + TILE, n);
                for (int i = i0; i < i1; i++) {
                    for (int j = Math.max(j0, i + 1); j < j1; j++) {
                        long upper = i * stride + j;
                        long lower = j * stride + i;
                        if (lowerToUpper) {
                            s.setAtIndex(JAVA_FLOAT, upper, s.getAtIndex(JAVA_FLOAT, lower));
                        } else {
                            s.setAtIndex(JAVA_FLOAT, lower, s.getAtIndex(JAVA_FLOAT, upper));
                        }
                    }
                }
            }
        }
    }

    /** True when square {@code m} equals its transpose bit for bit. */
    private static boolean isSymmetric(FloatMatrix m) {
        int n = m.rows();
        long stride = m.rowStride();
        MemorySegment s = m.segment();
        for (int i0 = 0; i0 < n; i0 += TILE) {
            int i1 = Math.min(i0 + TILE, n);
            for (int j0 = i0; j0 < n; j0 += TILE) {
                int j1 = Math.min(j0 + TILE, n);
                for (int i = i0; i < i1; i++) {
                    for (int j = Math.max(j0, i + 1); j < j1; j++) {
                        if (Float.floatToRawIntBits(s.getAtIndex(JAVA_FLOAT, i * stride + j))
                                != Float.floatToRawIntBits(s.getAtIndex(JAVA_FLOAT, j * stride + i))) {
                            return false;
                        }
                    }
                }
            }
        }
        return true;
    }

    /** True when some matrix lives on the Java heap (e.g. wraps a {@code float[]}), which native code cannot address. */
    private static boolean onHeap(FloatMatrix... matrices) {
        for (FloatMatrix m : matrices) {
            if (!m.segment().isNative()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code operation} with every heap-backed matrix replaced by an off-heap copy, then copies each
     * back (modifying the originals the operation modifies). The copy is unavoidable: native code cannot
     * address the Java heap, and pinning it for a long call would stall the garbage collector. A matrix
     * passed twice gets one copy.
     */
    private static void viaOffHeapCopies(Consumer<FloatMatrix[]> operation, FloatMatrix... matrices) {
        try (Arena arena = Arena.ofConfined()) {
            Map<FloatMatrix, FloatMatrix> copyOf = new IdentityHashMap<>();
            FloatMatrix[] operands = new FloatMatrix[matrices.length];
            for (int i = 0; i < matrices.length; i++) {
                FloatMatrix m = matrices[i];
                operands[i] = m.segment().isNative() ? m : copyOf.computeIfAbsent(m, heap -> heap.copy(arena));
            }
            operation.accept(operands);
            copyOf.forEach((original, copy) -> original.copyFrom(copy));
        }
    }

    private static RuntimeException propagate(Throwable e) {
        if (e instanceof RuntimeException runtime) {
            return runtime;
        }
        if (e instanceof Error error) {
            throw error;
        }
        return new IllegalStateException("OpenBLAS downcall failed", e);
    }
}
