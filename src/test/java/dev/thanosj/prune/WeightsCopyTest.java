package dev.thanosj.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.kernels.Kernels;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Where {@link WeightsCopy} keeps W, and that it gives back exactly {@code ‖Ŵ − W‖²}. */
class WeightsCopyTest {

    @Test
    void aWideLayerIsCopiedIntoTheFactorsFreeRowsWithoutTouchingAnythingElse() {
        check(6, 40, 4, true);
    }

    @Test
    void aLayerThatDoesNotFitIsCopiedIntoTheArena() {
        check(40, 40, 4, false);
    }

    private static void check(int rows, int cols, int block, boolean expectInFactor) {
        SplittableRandom random = new SplittableRandom(rows * 31L + cols);
        Arena arena = Arena.ofAuto();
        FloatMatrix w = FloatMatrix.allocate(arena, rows, cols);
        FloatMatrix u = FloatMatrix.allocate(arena, cols, cols);
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                u.set(i, j, (float) random.nextGaussian()); // upper triangle: must survive
            }
        }
        FloatMatrix before = u.copy(arena);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                w.set(r, c, (float) random.nextGaussian());
            }
        }
        int first = Workspace.firstFreeRow(rows, block);
        WeightsCopy copy = WeightsCopy.of(w, u, first, block, arena);
        assertEquals(expectInFactor, copy.inFactor());
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                boolean lent = expectInFactor && i >= first && j < (i / block) * block;
                if (!lent) {
                    assertEquals(before.get(i, j), u.get(i, j), "U[" + i + ", " + j + "] changed");
                }
            }
        }
        double want = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float changed = (r + c) % 3 == 0 ? 0f : w.get(r, c) * 0.5f;
                double d = (double) changed - w.get(r, c);
                want += d * d;
                w.set(r, c, changed);
            }
        }
        double got = copy.squaredDistance(w, Kernels.get());
        // the kernel squares float differences and sums them in float lanes: ≤ (n + 2)·u relative; a piece
        // paired with the wrong entries would be off by O(want)
        assertEquals(want, got, (rows * cols + 2) * Math.ulp(1f) * want);
        assertTrue(want > 0);
    }

    @Test
    void capacityCountsOnlyTheColumnsLeftOfEachDiagonalBlock() {
        // n = 10, B = 4: rows 4..7 lend 4, rows 8..9 lend 8
        assertEquals(4 * 4 + 2 * 8, WeightsCopy.capacity(10, 0, 4));
        assertEquals(2 * 8, WeightsCopy.capacity(10, 8, 4));
        assertEquals(0, WeightsCopy.capacity(10, 10, 4));
        assertFalse(WeightsCopy.capacity(4096, Workspace.firstFreeRow(4096, 128), 128) >= 4096L * 4096);
        assertTrue(WeightsCopy.capacity(11008, Workspace.firstFreeRow(4096, 128), 128) >= 4096L * 11008);
    }
}
