package dev.thanosj.prune;

import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;

/**
 * Per-block scratch of the block methods. When it fits, it lives in the strict lower triangle of the
 * {@code cols x cols} factor U (zero and never read once U is formed, except the diagonal blocks' lower
 * parts, which it avoids): rows {@code [w + B, w + B + h)}, columns {@code [0, w)}. So a layer's working
 * memory stays at U plus one copy of W, whatever the block size. Otherwise a fresh allocation in the arena.
 */
final class Workspace {
    private Workspace() {
    }

    /** An {@code h x w} scratch matrix; {@code blockSize} is the width of U's diagonal blocks. */
    static FloatMatrix scratch(FloatMatrix u, int h, int w, int blockSize, Arena arena) {
        int n = u.rows();
        long top = (long) w + blockSize;
        if (top + h <= n) {
            return u.view((int) top, 0, h, w);
        }
        return FloatMatrix.allocate(arena, h, w);
    }

    /**
     * The first row of U below every scratch this class hands out to a layer of {@code rows} rows (the
     * callers ask for at most {@code rows + 2B} rows, {@code B} wide, so they end by row {@code rows + 4B}).
     */
    static int firstFreeRow(int rows, int blockSize) {
        return rows + 4 * blockSize;
    }

    /** Sets the scratch back to zero so U's lower triangle is zero again (callers that read U whole need it). */
    static void release(FloatMatrix scratch) {
        scratch.fill(0f);
    }
}
