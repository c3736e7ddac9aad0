package dev.thanosj.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.prune.PruneResult;
import dev.thanosj.reference.Compare;
import dev.thanosj.reference.Dense;
import dev.thanosj.reference.ReferencePruner;
import dev.thanosj.tensor.FloatMatrix;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs every {@link PruneBench} case once, through the setup JMH uses, on small shapes (two or three
 * blocks of 128 columns) and fewer calibration tokens, and checks the pruned weights against the
 * library's double-precision {@link ReferencePruner} given the same statistics: the same mask exactly and
 * the weights within {@code 1e-4 · max|W|}, as the library's fixture tests ask. So no benchmark times
 * broken code.
 */
class PruneBenchTest {

    static Stream<String> cases() throws NoSuchFieldException {
        String[] prunes = PruneBench.class.getField("prune").getAnnotation(org.openjdk.jmh.annotations.Param.class)
                .value();
        return Arrays.stream(prunes).flatMap(p -> Stream.of(p + "@40x256", p + "@96x320"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyPruningBenchmarkMatchesTheReference(String testCase) {
        PruneBench bench = new PruneBench();
        bench.prune = testCase.substring(0, testCase.indexOf('@'));
        bench.shape = testCase.substring(testCase.indexOf('@') + 1);
        bench.tokens = 512;
        bench.setUp();
        try {
            bench.restore();
            double[][] original = Dense.toDouble(bench.original);
            FloatMatrix h = bench.stats.hasHessian() ? bench.stats.hessian() : null;
            double[] s = Dense.toDouble(bench.stats.scaler())[0];
            ReferencePruner.Result expected = ReferencePruner.prune(original,
                    new ReferencePruner.Statistics(h == null ? null : Dense.toDouble(h), s), bench.spec);

            PruneResult result = bench.pruneLayer();
            bench.report();

            double[][] actual = Dense.toDouble(bench.weights);
            assertEquals("", Compare.maskDifference(expected.weights(), actual), testCase + ": mask");
            double tolerance = 1e-4 * Dense.maxAbs(original);
            assertTrue(Compare.maxDifference(expected.weights(), actual) <= tolerance,
                    () -> testCase + ": weights beyond " + tolerance + ": "
                            + Compare.worstDifference(expected.weights(), actual));
            assertEquals(Compare.zeros(expected.weights()), result.zeros(), testCase + ": zeros");
        } finally {
            bench.tearDown();
        }
    }
}
