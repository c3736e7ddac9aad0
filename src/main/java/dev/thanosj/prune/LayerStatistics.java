package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Calibration statistics of one linear layer, kept as running means over the sequences seen so far
 * ({@code ALGORITHMS.md}, notation): {@code H = (2/N) Σ XᵀX} ({@code cols x cols}) and
 * {@code s_j = (1/N) Σ ‖X[:, j]‖²}, N counting sequences, as the reference repositories' {@code add_batch}.
 * Batches stream in through {@link #addBatch}; the memory belongs to this object until {@link #close()}.
 */
public final class LayerStatistics implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final int cols;
    private final FloatMatrix hessian;
    private final FloatMatrix scaler;
    private final boolean withHessian;
    private long sequences;

    private LayerStatistics(int cols, boolean withHessian) {
        this.cols = cols;
        this.withHessian = withHessian;
        this.hessian = withHessian ? FloatMatrix.allocate(arena, cols, cols) : null;
        this.scaler = FloatMatrix.allocate(arena, 1, cols);
    }

    /**
     * An empty accumulator for a layer with {@code cols} inputs; {@code withHessian} false keeps only
     * {@code s} (enough for magnitude and Wanda, and {@code cols²} floats lighter).
     */
    public static LayerStatistics create(int cols, boolean withHessian) {
        if (cols < 1) {
            throw new IllegalArgumentException("cols must be >= 1, got " + cols);
        }
        return new LayerStatistics(cols, withHessian);
    }

    /**
     * Statistics given directly: copies of {@code hessian} ({@code cols x cols}, may be null) and
     * {@code scaler} ({@code 1 x cols}), counted as one sequence.
     */
    public static LayerStatistics of(FloatMatrix hessian, FloatMatrix scaler) {
        int cols = scaler.cols();
        if (scaler.rows() != 1) {
            throw new ThanosjException("scaler must be a vector, is " + scaler.shape());
        }
        if (hessian != null && (hessian.rows() != cols || hessian.cols() != cols)) {
            throw new ThanosjException("hessian " + hessian.shape() + " does not match scaler of " + cols + " columns");
        }
        LayerStatistics stats = new LayerStatistics(cols, hessian != null);
        if (hessian != null) {
            stats.hessian.copyFrom(hessian);
        }
        stats.scaler.copyFrom(scaler);
        stats.sequences = 1;
        return stats;
    }

    /** Input columns of the layer. */
    public int cols() {
        return cols;
    }

    /** Sequences accumulated so far. */
    public long sequences() {
        return sequences;
    }

    /** Whether {@code H} is kept. */
    public boolean hasHessian() {
        return withHessian;
    }

    /** {@code H} (a view of this object's memory; read-only by convention). */
    public FloatMatrix hessian() {
        if (!withHessian) {
            throw new IllegalStateException("these statistics were created without the Hessian");
        }
        return hessian;
    }

    /** {@code s} as a {@code 1 x cols} view (read-only by convention). */
    public FloatMatrix scaler() {
        return scaler;
    }

    /**
     * Adds the inputs of {@code sequenceCount} sequences ({@code x}: all their tokens, {@code tokens x cols})
     * to the running means; updates {@code H} and {@code s} in place.
     */
    public void addBatch(FloatMatrix x, int sequenceCount) {
        if (x.cols() != cols) {
            throw new IllegalArgumentException("batch has " + x.cols() + " columns, the layer has " + cols);
        }
        if (sequenceCount < 1) {
            throw new IllegalArgumentException("sequenceCount must be >= 1, got " + sequenceCount);
        }
        long total = sequences + sequenceCount;
        float keep = (float) ((double) sequences / total);
        if (withHessian) {
            Linalg.get().syrk(true, (float) (2.0 / total), x, keep, hessian);
        }
        MemorySegment s = scaler.row(0);
        for (int j = 0; j < cols; j++) {
            s.setAtIndex(JAVA_FLOAT, j,
                    s.getAtIndex(JAVA_FLOAT, j) * keep);
        }
        float inv = (float) (1.0 / total);
        for (int r = 0; r < x.rows(); r++) {
            MemorySegment row = x.row(r);
            for (int j = 0; j < cols; j++) {
                float v = row.getAtIndex(JAVA_FLOAT, j);
                s.setAtIndex(JAVA_FLOAT, j,
                        s.getAtIndex(JAVA_FLOAT, j) + v * v * inv);
            }
        }
        sequences = total;
    }

    /**
     * Adds a batch stored as {@code dtype} (row-major {@code tokens x cols}, little-endian). A 16-bit or
     * unaligned batch is converted into one float32 copy of the batch (deliberate: a batch, not a layer).
     */
    public void addBatch(MemorySegment storage, DType dtype, int tokens, int sequenceCount) {
        if (dtype == DType.F32 && storage.address() % Float.BYTES == 0
                && storage.byteSize() == (long) tokens * cols * Float.BYTES) {
            addBatch(FloatMatrix.wrap(storage, tokens, cols, cols), sequenceCount);
            return;
        }
        try (Arena scratch = Arena.ofConfined()) {
            addBatch(FloatMatrix.fromStorage(scratch, storage, dtype, tokens, cols), sequenceCount);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
