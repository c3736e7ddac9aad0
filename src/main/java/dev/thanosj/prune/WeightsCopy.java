package dev.thanosj.prune;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The copy of the unpruned W that the loss needs for {@code ‖Ŵ − W‖²} (the damping's share). It lives in the
 * strict lower triangle of the {@code cols x cols} factor U when it fits there, else in the arena: row i of U
 * (from {@link Workspace#firstFreeRow} on) lends its columns {@code [0, ⌊i / B⌋·B)}, left of its diagonal
 * block (the blocks' own lower parts are read as zeros by the block GEMMs), and W's entries fill these pieces
 * in row-major order. For a wide layer this saves the whole copy: 4096x11008 needs W + 2H instead of 2(W + H).
 * Nothing reads U's lower triangle after the loss, so the pieces are not cleared afterwards.
 */
final class WeightsCopy {
    private final FloatMatrix u;
    private final int firstRow;
    private final int blockSize;
    private final FloatMatrix copy;

    private WeightsCopy(FloatMatrix u, int firstRow, int blockSize, FloatMatrix copy) {
        this.u = u;
        this.firstRow = firstRow;
        this.blockSize = blockSize;
        this.copy = copy;
    }

    /** Copies {@code weights}; U's lower triangle from {@code firstRow} on must be free (zero, unused). */
    static WeightsCopy of(FloatMatrix weights, FloatMatrix u, int firstRow, int blockSize, Arena arena) {
        long need = (long) weights.rows() * weights.cols();
        if (capacity(u.rows(), firstRow, blockSize) < need) {
            return new WeightsCopy(null, 0, 0, weights.copy(arena));
        }
        WeightsCopy c = new WeightsCopy(u, firstRow, blockSize, null);
        c.walk(weights, (w, piece, n) -> MemorySegment.copy(w, 0, piece, 0, (long) n * Float.BYTES));
        return c;
    }

    /** Whether the copy is in U (for tests and the memory figures). */
    boolean inFactor() {
        return copy == null;
    }

    /** Floats that rows {@code [firstRow, n)} of an {@code n x n} factor lend. */
    static long capacity(int n, int firstRow, int blockSize) {
        long total = 0;
        for (int i = Math.max(0, firstRow); i < n; i++) {
            total += (long) (i / blockSize) * blockSize;
        }
        return total;
    }

    /** {@code ‖weights − copy‖²_F}. */
    double squaredDistance(FloatMatrix weights, Kernels kernels) {
        double[] total = {0};
        if (copy != null) {
            for (int r = 0; r < weights.rows(); r++) {
                total[0] += kernels.sumSquaredDifference(weights.row(r), copy.row(r), weights.cols());
            }
        } else {
            walk(weights, (w, piece, n) -> total[0] += kernels.sumSquaredDifference(w, piece, n));
        }
        return total[0];
    }

    private interface Piece {
        void accept(MemorySegment weightsPart, MemorySegment factorPart, int n);
    }

    /** Pairs W's entries, in row-major order, with the factor's lent pieces, in the same order. */
    private void walk(FloatMatrix weights, Piece piece) {
        int rows = weights.rows();
        int cols = weights.cols();
        int r = 0;
        int c = 0;
        for (int i = firstRow; i < u.rows() && r < rows; i++) {
            int lent = (i / blockSize) * blockSize;
            int at = 0;
            while (at < lent && r < rows) {
                int n = Math.min(lent - at, cols - c);
                MemorySegment w = weights.row(r).asSlice((long) c * Float.BYTES, (long) n * Float.BYTES);
                MemorySegment f = u.row(i).asSlice((long) at * Float.BYTES, (long) n * Float.BYTES);
                piece.accept(w, f, n);
                at += n;
                c += n;
                if (c == cols) {
                    c = 0;
                    r++;
                }
            }
        }
    }

}
