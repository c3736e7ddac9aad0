package dev.thanosj.prune;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Validation of {@link PruneSpec} and {@link Pattern}: every rejection names the value at fault. */
class PruneSpecTest {

    private static void rejects(Executable construction, String... mustName) {
        ThanosjException e = assertThrows(ThanosjException.class, construction);
        for (String part : mustName) {
            assertTrue(e.getMessage().contains(part), () -> "message \"" + e.getMessage() + "\" should name " + part);
        }
    }

    private static PruneSpec spec(Method method, Pattern pattern, double alpha, int blockSize) {
        return new PruneSpec(method, pattern, alpha, blockSize, PruneSpec.DEFAULT_PERC_DAMP);
    }

    @ParameterizedTest
    @ValueSource(doubles = {1.0, 1.5, -0.1, -0.0000001, Double.NaN, Double.POSITIVE_INFINITY})
    void sparsityOutsideZeroOneIsRejected(double sparsity) {
        rejects(() -> new Pattern.Unstructured(sparsity), "sparsity", String.valueOf(sparsity));
        rejects(() -> new Pattern.Structured(sparsity), "sparsity", String.valueOf(sparsity));
    }

    @Test
    void sparsityBoundsAreHalfOpen() {
        assertDoesNotThrow(() -> new Pattern.Unstructured(0));
        assertDoesNotThrow(() -> new Pattern.Unstructured(Math.nextDown(1.0)));
        rejects(() -> Pattern.parse("1", false), "1");
        rejects(() -> Pattern.parse("1.25", true), "1.25");
    }

    @Test
    void nMustBeBelowMAndPositive() {
        rejects(() -> new Pattern.NOfM(4, 4), "4:4");
        rejects(() -> new Pattern.NOfM(5, 4), "5:4");
        rejects(() -> new Pattern.NOfM(0, 4), "0:4");
        rejects(() -> new Pattern.NOfM(-1, 4), "-1:4");
        rejects(() -> Pattern.parse("4:2", false), "4:2");
        assertEquals(new Pattern.NOfM(1, 8), Pattern.parse(" 1 : 8 ", false));
        assertEquals(new Pattern.NOfM(7, 8), Pattern.parse("7:8", false));
    }

    @ParameterizedTest
    @ValueSource(strings = {"2:x", "x:4", "2:", ":4", "2:4:8", "2.5:4", "half", "", "0,5"})
    void unparsableSparsityIsRejectedVerbatim(String text) {
        rejects(() -> Pattern.parse(text, false), "--sparsity " + text);
    }

    @Test
    void parseGivesTheThreePatterns() {
        assertEquals(new Pattern.Unstructured(0.5), Pattern.parse("0.5", false));
        assertEquals(new Pattern.Structured(0.3), Pattern.parse("0.3", true));
        assertEquals(new Pattern.NOfM(2, 4), Pattern.parse("2:4", false));
        rejects(() -> Pattern.parse("2:4", true), "2:4", "structured");
    }

    @ParameterizedTest
    @ValueSource(doubles = {1.0, 1.5, -0.1, Double.NaN})
    void alphaOutsideZeroOneIsRejected(double alpha) {
        rejects(() -> spec(Method.THANOS, new Pattern.NOfM(2, 4), alpha, 128), "alpha", String.valueOf(alpha));
        rejects(() -> spec(Method.THANOS, new Pattern.Structured(0.1), alpha, 128), "alpha", String.valueOf(alpha));
    }

    @Test
    void structuredNeedsSparsityOverOneMinusAlphaAtMostOne() {
        rejects(() -> spec(Method.THANOS, new Pattern.Structured(0.95), 0.1, 128), "0.95", "0.1");
        rejects(() -> spec(Method.WANDA, new Pattern.Structured(0.6), 0.5, 128), "0.6", "0.5");
        // 0.9 / (1 - 0.1) is 1.0000000000000002 in double: within the count tolerance, so accepted
        assertDoesNotThrow(() -> spec(Method.THANOS, new Pattern.Structured(0.9), 0.1, 128));
        assertDoesNotThrow(() -> spec(Method.THANOS, new Pattern.Structured(0.5), 0.5, 128));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, -128})
    void blockSizeBelowOneIsRejected(int blockSize) {
        rejects(() -> spec(Method.THANOS, new Pattern.Unstructured(0.5), 0, blockSize), "block-size " + blockSize);
        rejects(() -> spec(Method.SPARSEGPT, new Pattern.Unstructured(0.5), 0, blockSize), "block-size " + blockSize);
    }

    @Test
    void blockSizeMustBeAMultipleOfMForBlockMethods() {
        rejects(() -> spec(Method.THANOS, new Pattern.NOfM(2, 4), 0, 6), "block-size 6", "m = 4");
        rejects(() -> spec(Method.SPARSEGPT, new Pattern.NOfM(1, 3), 0, 128), "block-size 128", "m = 3");
        assertDoesNotThrow(() -> spec(Method.THANOS, new Pattern.NOfM(1, 3), 0, 12));
        assertDoesNotThrow(() -> spec(Method.SPARSEGPT, new Pattern.NOfM(4, 8), 0, 8));
    }

    @Test
    void alphaIsRejectedByMethodsWithoutOutlierRows() {
        rejects(() -> spec(Method.WANDA, new Pattern.Unstructured(0.5), 0.1, 128), "alpha", "wanda");
        rejects(() -> spec(Method.WANDA, new Pattern.NOfM(2, 4), 0.1, 128), "alpha", "wanda");
        rejects(() -> spec(Method.MAGNITUDE, new Pattern.NOfM(2, 4), 0.2, 128), "alpha", "magnitude");
        rejects(() -> spec(Method.SPARSEGPT, new Pattern.NOfM(2, 4), 0.2, 128), "alpha", "sparsegpt");
        rejects(() -> spec(Method.THANOS, new Pattern.Unstructured(0.5), 0.1, 128), "alpha", "thanos");
        assertDoesNotThrow(() -> spec(Method.THANOS, new Pattern.NOfM(2, 4), 0.1, 128));
        assertDoesNotThrow(() -> spec(Method.WANDA, new Pattern.Structured(0.3), 0.1, 128));
    }

    @Test
    void structuredIsOnlyForThanosAndWanda() {
        rejects(() -> spec(Method.MAGNITUDE, new Pattern.Structured(0.3), 0.1, 128), "magnitude");
        rejects(() -> spec(Method.SPARSEGPT, new Pattern.Structured(0.3), 0.1, 128), "sparsegpt");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, -0.01, Double.NaN, Double.POSITIVE_INFINITY})
    void percDampMustBePositiveAndFinite(double percDamp) {
        rejects(() -> new PruneSpec(Method.THANOS, new Pattern.Unstructured(0.5), 0, 128, percDamp),
                "perc-damp", String.valueOf(percDamp));
    }

    @Test
    void requireFitsNamesTheLayerTheColumnsAndM() {
        PruneSpec spec = spec(Method.THANOS, new Pattern.NOfM(2, 4), 0, 128);
        rejects(() -> spec.requireFits("layers.3.q_proj", 8, 30), "layers.3.q_proj", "30", "m = 4");
        assertDoesNotThrow(() -> spec.requireFits("layers.3.q_proj", 8, 32));
        PruneSpec wanda = spec(Method.WANDA, new Pattern.NOfM(3, 8), 0, 128);
        rejects(() -> wanda.requireFits("fc1", 2, 12), "fc1", "12", "m = 8");
        assertDoesNotThrow(() -> spec(Method.THANOS, new Pattern.Unstructured(0.5), 0, 128).requireFits("x", 3, 7));
    }

    @Test
    void defaultsAreTheFields() {
        PruneSpec unstructured = PruneSpec.of(Method.SPARSEGPT, new Pattern.Unstructured(0.5));
        assertEquals(128, unstructured.blockSize());
        assertEquals(0.01, unstructured.percDamp());
        assertEquals(0, unstructured.alpha());
        assertEquals(0.1, PruneSpec.of(Method.THANOS, new Pattern.Structured(0.3)).alpha());
    }

    @Test
    void unknownMethodListsTheValidOnes() {
        rejects(() -> Method.parse("obs"), "obs", "thanos", "sparsegpt", "wanda", "magnitude");
        assertEquals(Method.THANOS, Method.parse("Thanos"));
    }
}
