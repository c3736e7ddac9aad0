package dev.thanosj.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.model.OrtReference;
import dev.thanosj.model.TinyBert;
import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The test-built random BERT ({@link TinyBert}) is a model ONNX Runtime runs and {@link BertEncoder} reads
 * like the bundled MiniLM; the Java forward pass matches ONNX Runtime on it, in both export styles.
 */
class TinyBertTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "modern export: {0}")
    @ValueSource(booleans = {false, true})
    void onnxRuntimeRunsItAndTheJavaForwardMatches(boolean modern) throws Exception {
        TinyBert.Config config = TinyBert.Config.small(11);
        Path file = TinyBert.write(tmp.resolve("tiny.onnx"), modern ? config.asModernExport() : config);
        try (OnnxModel model = OnnxModel.open(file);
             BertEncoder encoder = BertEncoder.of(model);
             OrtReference ort = new OrtReference(file)) {
            assertEquals(modern ? 17 : 11, model.opsetVersion());
            assertEquals(new BertConfig(2, 32, 4, 64, TinyBert.TOKENIZER_VOCAB, 128, 2), encoder.config());
            assertEquals(12, encoder.linears().size());
            for (int l = 0; l < 2; l++) {
                assertEquals(BertEncoder.ROLES, encoder.linears(l).stream().map(OnnxLinear::role).toList());
                encoder.linears(l).forEach(linear -> assertTrue(linear.bias() != null, linear.label()));
            }

            TokenBatch random = randomBatch(new SplittableRandom(5), new int[] {1, 2, 7, 40, 128, 3});
            double diff = BertEncoderTest.maxDifference(encoder, random, BertEncoder.DENSE, ort);
            TokenBatch text;
            try (Tokenizer tokenizer = TinyBert.tokenizer(Tokenizer.DEFAULT_MAX_LENGTH)) {
                text = tokenizer.encode(List.of("Hello world!", "The committee adopted the report.",
                        "Pruning removes weights from a trained network while keeping its outputs close to the dense model's."));
            }
            double textDiff = BertEncoderTest.maxDifference(encoder, text, BertEncoder.DENSE, ort);
            System.out.printf("tiny BERT (%s): max |java - onnxruntime| = %.3g (random ids), %.3g (text)%n",
                    modern ? "opset 17, fused LayerNorm" : "opset 11, MiniLM layout", diff, textDiff);
            assertTrue(diff <= 1e-4, "random ids: max abs difference " + diff);
            assertTrue(textDiff <= 1e-4, "text: max abs difference " + textDiff);
        }
    }

    @Test
    void theSameConfigGivesTheSameBytesAndAnotherSeedOtherWeights() throws Exception {
        Path a = TinyBert.write(tmp.resolve("a.onnx"), TinyBert.Config.small(3));
        Path b = TinyBert.write(tmp.resolve("b.onnx"), TinyBert.Config.small(3));
        Path c = TinyBert.write(tmp.resolve("c.onnx"), TinyBert.Config.small(4));
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        assertEquals(Files.size(a), Files.size(c));
        assertTrue(Files.mismatch(a, c) >= 0);
    }

    @Test
    void theTokenizerFitsTheVocabulary() {
        assertEquals(TinyBert.TOKENIZER_VOCAB, TinyBert.tokenizerVocabSize());
        try (Tokenizer tokenizer = TinyBert.tokenizer(16)) {
            int[] ids = tokenizer.encode("The cat sat on the mat, singing.");
            assertEquals(2, ids[0], "[CLS]");
            assertEquals(3, ids[ids.length - 1], "[SEP]");
            assertEquals(16, ids.length, "truncated to 16 tokens");
            for (int id : ids) {
                assertTrue(id > 1 && id < TinyBert.TOKENIZER_VOCAB, "no [PAD] or [UNK] in plain English: " + id);
            }
        }
    }

    /** Sequences of the given lengths with random ids and random token types (0 or 1). */
    static TokenBatch randomBatch(SplittableRandom random, int[] lengths) {
        List<int[]> ids = new ArrayList<>();
        List<int[]> types = new ArrayList<>();
        for (int n : lengths) {
            ids.add(random.ints(n, 0, TinyBert.TOKENIZER_VOCAB).toArray());
            types.add(random.ints(n, 0, 2).toArray());
        }
        return TokenBatch.of(ids, types);
    }
}
