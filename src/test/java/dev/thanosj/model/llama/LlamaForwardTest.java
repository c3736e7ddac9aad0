package dev.thanosj.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forward pass against {@link ReferenceLlama} (double precision, straight loops after
 * {@code modeling_llama.py}) for every supported variant, plus causality and batch invariance. Tolerance: the
 * fast path computes in float32 from the same bf16 weights, so logits agree to
 * {@code 1e-4 x max(1, max |logit|)}; measured differences are around 1e-6.
 */
class LlamaForwardTest {
    static final double TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    static Stream<Named<UnaryOperator<ObjectNode>>> variants() {
        return Stream.of(
                Named.of("llama GQA", c -> c),
                Named.of("llama MHA tied", c -> {
                    c.put("num_key_value_heads", 4);
                    c.put("tie_word_embeddings", true);
                    return c;
                }),
                Named.of("llama3 rope scaling", TinyLlama::withLlama3Scaling),
                Named.of("llama head_dim != hidden/heads", c -> {
                    c.put("head_dim", 6);
                    return c;
                }),
                Named.of("qwen2 biases", c -> {
                    c.set("architectures", TinyLlama.JSON.createArrayNode().add("Qwen2ForCausalLM"));
                    return c;
                }),
                Named.of("mistral sliding window 5", c -> {
                    c.set("architectures", TinyLlama.JSON.createArrayNode().add("MistralForCausalLM"));
                    c.put("sliding_window", 5);
                    return c;
                }));
    }

    @ParameterizedTest
    @MethodSource("variants")
    void logitsMatchTheReferenceForward(UnaryOperator<ObjectNode> variant) throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), variant.apply(TinyLlama.config("LlamaForCausalLM")), 11, 1);
        List<int[]> sequences = TinyLlama.tokens(5, 3, 20, 48);
        try (LlamaModel model = LlamaModel.open(dir); ReferenceLlama reference = new ReferenceLlama(model);
                Arena arena = Arena.ofConfined()) {
            FloatMatrix logits = model.logits(sequences, arena);
            assertEquals(3 * 20, logits.rows());
            assertEquals(48, logits.cols());
            for (int s = 0; s < sequences.size(); s++) {
                double[][] expected = reference.logits(sequences.get(s));
                assertClose(expected, logits.rows(s * 20, (s + 1) * 20), model.toString());
            }
        }
    }

    /** Sequences longer than one attention query block, with no window, a short one and one spanning blocks. */
    @ParameterizedTest
    @ValueSource(ints = {0, 5, 130})
    void longSequencesCrossQueryBlocks(int window) throws IOException {
        ObjectNode config = TinyLlama.config(window == 0 ? "LlamaForCausalLM" : "MistralForCausalLM");
        config.put("max_position_embeddings", 256);
        config.put("num_hidden_layers", 1);
        if (window > 0) {
            config.put("sliding_window", window);
        }
        Path dir = TinyLlama.write(tmp.resolve("m"), config, 14, 1);
        int length = BlockPass.QUERY_BLOCK + 40;
        List<int[]> sequences = TinyLlama.tokens(6, 2, length, 48);
        try (LlamaModel model = LlamaModel.open(dir); ReferenceLlama reference = new ReferenceLlama(model);
                Arena arena = Arena.ofConfined()) {
            FloatMatrix logits = model.logits(sequences, arena);
            for (int s = 0; s < sequences.size(); s++) {
                assertClose(reference.logits(sequences.get(s)), logits.rows(s * length, (s + 1) * length),
                        "window " + window);
            }
        }
    }

    @Test
    void aVocabularyLargerThanOneChunkIsComputedChunkByChunk() throws IOException {
        ObjectNode config = TinyLlama.config("LlamaForCausalLM");
        config.put("vocab_size", LlamaModel.VOCAB_CHUNK + 77);
        config.put("hidden_size", 16);
        config.put("num_hidden_layers", 1);
        Path dir = TinyLlama.write(tmp.resolve("m"), config, 3, 1);
        int[] ids = {1, 8200, 5, LlamaModel.VOCAB_CHUNK + 76, 9};
        try (LlamaModel model = LlamaModel.open(dir); ReferenceLlama reference = new ReferenceLlama(model);
                Arena arena = Arena.ofConfined()) {
            assertClose(reference.logits(ids), model.logits(List.of(ids), arena), "vocabulary 8269");
        }
    }

    @Test
    void changingALaterTokenNeverChangesEarlierLogits() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), TinyLlama.config("LlamaForCausalLM"), 12, 1);
        int[] a = TinyLlama.tokens(7, 1, 24, 48).getFirst();
        try (LlamaModel model = LlamaModel.open(dir); Arena arena = Arena.ofConfined()) {
            FloatMatrix base = model.logits(List.of(a), arena);
            for (int changed : new int[] {23, 12, 1}) {
                int[] b = a.clone();
                b[changed] = (a[changed] + 17) % 48;
                FloatMatrix other = model.logits(List.of(b), arena);
                for (int t = 0; t < changed; t++) {
                    for (int v = 0; v < 48; v++) {
                        assertEquals(base.get(t, v), other.get(t, v), "position " + t + " after changing " + changed);
                    }
                }
                assertNotEquals(base.get(changed, 0), other.get(changed, 0), "the changed position itself changes");
            }
        }
    }

    /**
     * Equal up to float32 rounding, 1e-5 on logits of magnitude about 1: a batch goes through GEMMs of another
     * height, whose kernels may sum in another order.
     */
    @Test
    void aSequenceAloneAndInABatchGivesTheSameLogits() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("m"), TinyLlama.config("LlamaForCausalLM"), 13, 1);
        List<int[]> batch = TinyLlama.tokens(9, 5, 16, 48);
        try (LlamaModel model = LlamaModel.open(dir); Arena arena = Arena.ofConfined()) {
            FloatMatrix together = model.logits(batch, arena);
            for (int s = 0; s < batch.size(); s++) {
                FloatMatrix alone = model.logits(List.of(batch.get(s)), arena);
                FloatMatrix inBatch = together.rows(s * 16, (s + 1) * 16);
                for (int t = 0; t < 16; t++) {
                    for (int v = 0; v < 48; v++) {
                        assertEquals(alone.get(t, v), inBatch.get(t, v), 1e-5,
                                "sequence " + s + " position " + t);
                    }
                }
            }
        }
    }

    @Test
    void ropeScalingLeavesHighFrequenciesAndDividesLowOnes() {
        LlamaConfig plain = LlamaConfig.parse(TinyLlama.config("LlamaForCausalLM").put("head_dim", 64).toString(),
                "plain");
        LlamaConfig scaled = LlamaConfig.parse(TinyLlama.withLlama3Scaling(TinyLlama.config("LlamaForCausalLM")
                .put("head_dim", 64)).toString(), "scaled");
        double[] a = Rope.inverseFrequencies(plain);
        double[] b = Rope.inverseFrequencies(scaled);
        assertEquals(a[0], b[0], 0, "the highest frequency is kept");
        assertEquals(a[31] / 8, b[31], 1e-18, "the lowest frequency is divided by the factor");
        boolean smoothed = false;
        for (int i = 0; i < a.length; i++) {
            smoothed |= b[i] < a[i] && b[i] > a[i] / 8;
        }
        assertTrue(smoothed, "some frequency lies in the smoothed band");
    }

    static void assertClose(double[][] expected, FloatMatrix actual, String what) {
        double scale = 1;
        for (double[] row : expected) {
            for (double e : row) {
                scale = Math.max(scale, Math.abs(e));
            }
        }
        double worst = 0;
        for (int t = 0; t < expected.length; t++) {
            for (int v = 0; v < expected[t].length; v++) {
                worst = Math.max(worst, Math.abs(expected[t][v] - actual.get(t, v)));
            }
        }
        assertTrue(worst <= TOLERANCE * scale, what + ": max difference " + worst + " exceeds " + TOLERANCE * scale);
    }
}
