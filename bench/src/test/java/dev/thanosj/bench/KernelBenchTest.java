package dev.thanosj.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Runs every {@link KernelBench} benchmark once for every implementation (Panama, scalar, native C) and
 * checks its result against the scalar kernels (themselves checked against plain loops by the library's
 * {@code KernelsPropertyTest}): scores, counts and masks exactly, sums and solves within float tolerance.
 */
class KernelBenchTest {

    static Stream<String> impls() {
        return Stream.of("panama", "scalar", "native");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void everyKernelBenchmarkComputesWhatItTimes(String impl) {
        KernelBench bench = setUp(impl);
        KernelBench reference = setUp("scalar");
        try {
            // the native solve batches as many systems as Panama: compare like with like
            KernelBench solveReference = impl.equals("scalar") ? reference : setUp("panama");
            assertArrayEquals(reference.wandaMetric(), bench.wandaMetric(), "wandaMetric");
            assertEquals(reference.countAndCollect(), bench.countAndCollect(), "countAndCollect");
            assertArrayEquals(java.util.Arrays.copyOf(reference.keys, 200), java.util.Arrays.copyOf(bench.keys, 200),
                    "countAndCollect keys");
            assertArrayEquals(reference.markSelected(), bench.markSelected(), "markSelected");
            assertArrayEquals(reference.nOfMMask(), bench.nOfMMask(), "nOfMMask");
            MemorySegment zeroed = bench.zeroMasked();
            MemorySegment expected = reference.zeroMasked();
            for (int i = 0; i < bench.n; i++) {
                assertEquals(expected.getAtIndex(JAVA_FLOAT, i), zeroed.getAtIndex(JAVA_FLOAT, i), "zeroMasked " + i);
            }
            float[] solved = bench.spdSolveBatch();
            float[] want = solveReference.spdSolveBatch();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], solved[i], 1e-3 * (1 + Math.abs(want[i])), "spdSolveBatch " + i);
            }
            MemorySegment reversed = bench.reverse();
            MemorySegment reversedWant = reference.reverse();
            for (int i = 0; i < bench.n; i++) {
                assertEquals(reversedWant.getAtIndex(JAVA_FLOAT, i), reversed.getAtIndex(JAVA_FLOAT, i), 0f,
                        "reverse " + i);
            }
            float[] product = bench.multiplyBatch();
            float[] productWant = solveReference.multiplyBatch();
            for (int i = 0; i < productWant.length; i++) {
                // 128-term float sums of O(1) products, summed in different orders: a few ulps of 128
                assertEquals(productWant[i], product[i], 1e-4 * (1 + Math.abs(productWant[i])), "multiplyBatch " + i);
            }
            float[] y = bench.subtractScaled();
            float[] yWant = reference.subtractScaled();
            for (int i = 0; i < y.length; i++) {
                assertEquals(yWant[i], y[i], 1e-6 * (1 + Math.abs(yWant[i])), "subtractScaled " + i);
            }
            double bound = 1e-5 * bench.n;
            assertEquals(reference.dot(), bench.dot(), bound, "dot");
            assertEquals(reference.sumSquaredDifference(), bench.sumSquaredDifference(), bound, "sumSquaredDifference");
        } finally {
            bench.tearDown();
            reference.tearDown();
        }
    }

    private static KernelBench setUp(String impl) {
        KernelBench bench = new KernelBench();
        bench.impl = impl;
        bench.n = 4096;
        bench.k = 64;
        bench.setUp();
        return bench;
    }
}
