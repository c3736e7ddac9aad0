package dev.thanosj.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.reference.Compare;
import dev.thanosj.reference.Dense;
import dev.thanosj.reference.PruningFixture;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fixture of {@code src/test/resources/fixtures/pruning} through the fast {@link Pruner}, with the
 * statistics built the way a user builds them ({@code LayerStatistics.create} + one {@code addBatch} of all
 * tokens as one sequence). What the fixtures' README asks of a float32 implementation: the same mask
 * exactly, the weights within {@code 1e-4 · max|W|}, the relative loss within 1% of the fixture's.
 */
class PrunerFixtureTest {

    static List<String> fixtures() {
        return PruningFixture.names();
    }

    /** Input columns that are zero in every token (the dead inputs, {@code H_jj == 0}). */
    private static int zeroColumns(double[][] x) {
        int dead = 0;
        for (int c = 0; c < x[0].length; c++) {
            boolean zero = true;
            for (double[] token : x) {
                zero &= token[c] == 0;
            }
            dead += zero ? 1 : 0;
        }
        return dead;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void fastPrunerReproducesTheFixture(String name) {
        PruningFixture f = PruningFixture.load(name);
        try (Arena arena = Arena.ofShared(); // the pruner works on the weights from its worker threads
                LayerStatistics stats = LayerStatistics.create(f.cols(), true)) {
            FloatMatrix weights = Dense.toFloatMatrix(arena, f.weight(), f.cols());
            stats.addBatch(Dense.toFloatMatrix(arena, f.inputs(), f.cols()), 1);

            PruneResult result = Pruner.prune(name, weights, stats, f.spec());

            double[][] actual = Dense.toDouble(weights);
            assertEquals("", Compare.maskDifference(f.expected(), actual), name + ": mask");
            double tolerance = 1e-4 * f.maxAbsWeight();
            assertTrue(Compare.maxDifference(f.expected(), actual) <= tolerance,
                    () -> name + ": weights beyond " + tolerance + ": " + Compare.worstDifference(f.expected(), actual));
            assertEquals(f.relativeLoss(), result.relativeLoss(), 0.01 * f.relativeLoss(), name + ": relative loss");
            assertEquals(Compare.zeros(f.expected()), result.zeros(), name + ": zeros reported");
            assertEquals(f.rows(), result.rows());
            assertEquals(f.cols(), result.cols());
            if (f.spec().needsHessian()) {
                assertEquals(zeroColumns(f.inputs()), result.deadInputs(), name + ": dead inputs reported");
            }
        }
    }
}
