package dev.thanosj.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.prune.Method;
import dev.thanosj.prune.Pattern;
import dev.thanosj.prune.PruneSpec;
import org.junit.jupiter.api.Test;

/** The reference's building blocks, each against a hand-computed answer. */
class ReferencePrunerTest {

    @Test
    void countsUseTheToleranceOfAlgorithmsMd() {
        assertEquals(12, ReferencePruner.floorCount(0.3 * 40));
        assertEquals(16, ReferencePruner.ceilCount(0.3 * 48 / 0.9));
        assertEquals(2, ReferencePruner.floorCount(2.999));
        assertEquals(3, ReferencePruner.ceilCount(2.001));
    }

    @Test
    void smallestBreaksTiesByLowerIndexAndLogsTheGap() {
        SelectionLog log = new SelectionLog();
        boolean[] sel = log.smallest(new double[] {3, 1, 2, 1, 5}, 2);
        assertArrayEquals(new boolean[] {false, true, false, true, false}, sel);
        // 2nd smallest 1, 3rd smallest 2, largest 5: gap (2 - 1) / 5
        assertEquals(0.2, log.minGap(), 1e-15);

        sel = log.smallest(new double[] {1, 1, 1}, 2);
        assertArrayEquals(new boolean[] {true, true, false}, sel);
        assertEquals(0.0, log.minGap());
        assertEquals(1, log.countBelow(1e-5));
        assertEquals(2, log.count());
    }

    @Test
    void tiesBetweenExactZerosAreNotNearTies() {
        SelectionLog log = new SelectionLog();
        boolean[] sel = log.smallest(new double[] {0, 4, 0, 0}, 2);
        assertArrayEquals(new boolean[] {true, false, true, false}, sel);
        assertEquals(Double.POSITIVE_INFINITY, log.minGap());
    }

    @Test
    void atMostKthKeepsSparseGptsThresholdRule() {
        SelectionLog log = new SelectionLog();
        // sorted: 1 2 3 4; the 1st (0-based) is 2: entries <= 2 are selected, i.e. k + 1 = 2 of them
        boolean[] sel = log.atMostKth(new double[] {4, 2, 1, 3}, 1);
        assertArrayEquals(new boolean[] {false, true, true, false}, sel);
        assertEquals(0.25, log.minGap(), 1e-15);
    }

    @Test
    void obsRemovalIsTheConstrainedMinimum() {
        // H = [[2, 1], [1, 2]], w = (1, 1), remove entry 0: the best w1 minimises (d0, d1) H (d0, d1)ᵀ with
        // d0 = -1, i.e. d1 = -H10/H11 · d0 = 0.5, so w becomes (0, 1.5).
        double[][] g = Dense.inverseSymmetric(new double[][] {{2, 1}, {1, 2}});
        double[] row = {1, 1};
        ReferencePruner.obsRemove(row, 0, g, new int[] {0});
        assertEquals(0.0, row[0]);
        assertEquals(1.5, row[1], 1e-12);
    }

    @Test
    void thanosUnstructuredOnOneBlockMatchesAHandSolvedProblem() {
        // X = I (2 tokens): H = 2I, s = 1. W = [[3, 1]], sparsity 0.5: Z = 1, the smallest metric is |1|;
        // with a diagonal H nothing compensates, so W = [[3, 0]].
        double[][] x = {{1, 0}, {0, 1}};
        ReferencePruner.Result r = ReferencePruner.prune(new double[][] {{3, 1}},
                ReferencePruner.Statistics.fromInputs(x, 2, 1),
                new PruneSpec(Method.THANOS, new Pattern.Unstructured(0.5), 0, 128, 0.01));
        assertArrayEquals(new double[] {3, 0}, r.weights()[0], 1e-12);
        assertEquals(0, r.dampingRetries());
    }

    @Test
    void deadInputsAreZeroedInEveryRowAndDampingRetriesTenfold() {
        // Column 1 dead; H = diag(1, 0, -0.02) is indefinite: after the dead fix diag = (1, 1, -0.02), mean
        // 0.66; 0.01 · 0.66 does not make the last pivot positive, 0.1 · 0.66 does: one retry.
        double[][] h = {{1, 0, 0}, {0, 0, 0}, {0, 0, -0.02}};
        ReferencePruner.Result r = ReferencePruner.prune(new double[][] {{1, 2, 3}, {4, 5, 6}},
                new ReferencePruner.Statistics(h, new double[] {1, 0, 1}),
                new PruneSpec(Method.THANOS, new Pattern.Unstructured(0), 0, 128, 0.01));
        assertArrayEquals(new int[] {1}, r.deadInputs());
        assertEquals(1, r.dampingRetries());
        assertEquals(0.1, r.percDamp(), 1e-15);
        assertArrayEquals(new double[] {1, 0, 3}, r.weights()[0]);
        assertArrayEquals(new double[] {4, 0, 6}, r.weights()[1]);
    }

    @Test
    void dampingGivesUpAfterThreeRetries() {
        // eigenvalues -19 and 21, mean diagonal 1: even percDamp 0.01 · 1000 = 10 leaves -9
        double[][] h = {{1, 20}, {20, 1}};
        assertThrows(IllegalStateException.class, () -> ReferencePruner.prune(new double[][] {{1, 1}},
                new ReferencePruner.Statistics(h, new double[] {1, 1}),
                new PruneSpec(Method.SPARSEGPT, new Pattern.Unstructured(0.5), 0, 128, 0.01)));
    }

    @Test
    void outlierRowsAreTheLargestRhoWithTiesToTheLowerRow() {
        double[][] w = {{1, 0}, {2, 0}, {0, 2}, {1, 1}};
        double[] s = {1, 1};
        // rho = 1, 4, 4, 2; floor(0.5 * 4) = 2 outliers: rows 1 and 2 (tie at 4, both taken)
        assertArrayEquals(new boolean[] {false, true, true, false},
                ReferencePruner.outlierRows(w, s, 0.5, new SelectionLog()));
        // floor(0.25 * 4) = 1 outlier: the tie at 4 goes to the lower row, 1
        assertArrayEquals(new boolean[] {false, true, false, false},
                ReferencePruner.outlierRows(w, s, 0.25, new SelectionLog()));
    }

    @Test
    void lossesAgreeForHEqualTwoXtX() {
        double[][] x = {{1, 2}, {3, -1}, {0.5, 0.25}};
        double[][] w = {{1, -1}, {2, 0.5}};
        double[][] pruned = {{0, -1}, {2.2, 0}};
        ReferencePruner.Statistics st = ReferencePruner.Statistics.fromInputs(x, 2, 1);
        double lx = Losses.relativeOutputLoss(x, w, pruned);
        assertTrue(lx > 0);
        assertEquals(lx, Losses.relativeHessianLoss(st.hessian(), w, pruned), 1e-12);
    }
}
