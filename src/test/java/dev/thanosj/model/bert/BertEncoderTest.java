package dev.thanosj.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.OrtReference;
import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.onnx.OnnxModel;
import dev.thanosj.model.text.CalibrationText;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Java forward pass against ONNX Runtime on the real dense all-MiniLM-L6-v2. */
class BertEncoderTest {
    private static OnnxModel model;
    private static BertEncoder encoder;
    private static Tokenizer tokenizer;
    private static OrtReference ort;

    @BeforeAll
    static void load() throws Exception {
        model = OnnxModel.open(MiniLm.modelFile());
        encoder = BertEncoder.of(model);
        tokenizer = MiniLm.tokenizer(Tokenizer.DEFAULT_MAX_LENGTH);
        ort = new OrtReference(model.path());
    }

    @AfterAll
    static void close() throws Exception {
        ort.close();
        tokenizer.close();
        encoder.close();
        model.close();
    }

    @Test
    void readsTheSizesFromTheGraph() {
        assertEquals(new BertConfig(6, 384, 12, 1536, 30522, 512, 2), encoder.config());
        assertEquals(32, encoder.config().headDim());
        assertEquals(36, encoder.linears().size());
        assertEquals(BertEncoder.ROLES, encoder.linears(3).stream().map(OnnxLinear::role).toList());
    }

    @Test
    void matchesOnnxRuntimeOnSentencesOfDifferentLengths() throws Exception {
        List<String> texts = new ArrayList<>(List.of(
                "Hello world!",
                "The quick brown fox jumps over the lazy dog.",
                "a",
                "Pruning removes weights from a trained network while keeping its outputs close to the dense model's."));
        texts.add(CalibrationText.defaultEvaluation().getFirst()); // a long document, truncated to 128 tokens
        TokenBatch batch = tokenizer.encode(texts);
        assertEquals(128, batch.maxLength());
        double diff = maxDifference(batch, BertEncoder.DENSE, ort);
        System.out.printf("MiniLM dense, %d sentences: max |java - onnxruntime| = %.3g%n", batch.size(), diff);
        assertTrue(diff <= 1e-4, "max abs difference " + diff);
    }

    @Test
    void matchesOnnxRuntimeOnABatchLargerThanOneChunk() throws Exception {
        TokenBatch batch = tokenizer.encode(CalibrationText.defaultCalibration().subList(0, 24));
        assertTrue(batch.totalTokens() > BertEncoder.CHUNK_TOKENS, batch.toString());
        double diff = maxDifference(batch, BertEncoder.DENSE, ort);
        System.out.printf("MiniLM dense, %s: max |java - onnxruntime| = %.3g%n", batch, diff);
        assertTrue(diff <= 1e-4, "max abs difference " + diff);
    }

    @Test
    void sentenceEmbeddingsAreNormalisedMeansOfTheTokens() throws Exception {
        TokenBatch batch = tokenizer.encode(List.of("A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell."));
        float[][][] reference = ort.lastHiddenState(batch);
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix embeddings = encoder.sentenceEmbeddings(batch, arena, BertEncoder.DENSE);
            for (int s = 0; s < batch.size(); s++) {
                double[] mean = new double[384];
                for (int t = 0; t < batch.length(s); t++) {
                    for (int c = 0; c < 384; c++) {
                        mean[c] += reference[s][t][c] / batch.length(s);
                    }
                }
                double norm = Math.sqrt(java.util.Arrays.stream(mean).map(m -> m * m).sum());
                double length = 0;
                for (int c = 0; c < 384; c++) {
                    assertEquals(mean[c] / norm, embeddings.get(s, c), 1e-5);
                    length += embeddings.get(s, c) * embeddings.get(s, c);
                }
                assertEquals(1.0, length, 1e-5);
            }
            double similar = dot(embeddings, 0, 1);
            double unrelated = dot(embeddings, 0, 2);
            assertTrue(similar > unrelated + 0.2, "cos(guitar, instrument) " + similar + " vs cos(guitar, stocks) " + unrelated);
        }
    }

    @Test
    void tapsSeeEachLinearsInputsAndLayersCompose() {
        TokenBatch batch = tokenizer.encode(List.of("First sentence here.", "And a second, somewhat longer sentence follows it."));
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix hidden = encoder.embed(batch, arena);
            FloatMatrix embedded = hidden.copy(arena);
            Map<String, Integer> rowsSeen = new LinkedHashMap<>();
            encoder.layer(0, batch, hidden, null, BertEncoder.DENSE, (linear, inputs) -> {
                assertEquals(linear.inFeatures(), inputs.cols());
                rowsSeen.merge(linear.role(), inputs.rows(), Integer::sum);
                if (linear.role().equals("query")) {
                    assertEquals(embedded.get(3, 5), inputs.get(3, 5));
                }
            });
            assertEquals(BertEncoder.ROLES, List.copyOf(rowsSeen.keySet()));
            rowsSeen.values().forEach(rows -> assertEquals(batch.totalTokens(), rows));
            assertSame(embedded, hidden, "a taps-only pass leaves its input alone");

            FloatMatrix layer0 = FloatMatrix.allocate(arena, hidden.rows(), hidden.cols());
            encoder.layer(0, batch, hidden, layer0, BertEncoder.DENSE, null);
            assertSame(embedded, hidden, "a pass into another matrix leaves its input alone");
            encoder.layer(0, batch, hidden, BertEncoder.DENSE, null);
            assertSame(layer0, hidden, "in place and into another matrix agree");
            for (int l = 1; l < 6; l++) {
                encoder.layer(l, batch, hidden, BertEncoder.DENSE, null);
            }
            assertSame(encoder.forward(batch, arena), hidden, "layer by layer equals forward");
        }
    }

    private static void assertSame(FloatMatrix expected, FloatMatrix actual, String message) {
        for (int r = 0; r < expected.rows(); r++) {
            for (int c = 0; c < expected.cols(); c++) {
                assertEquals(expected.get(r, c), actual.get(r, c), message);
            }
        }
    }

    @Test
    void rejectsSequencesLongerThanThePositions() {
        TokenBatch tooLong = TokenBatch.of(List.of(new int[513]));
        try (Arena arena = Arena.ofShared()) {
            ThanosjException e = assertThrows(ThanosjException.class, () -> encoder.embed(tooLong, arena));
            assertTrue(e.getMessage().contains("512"), e.getMessage());
        }
        try (Arena confined = Arena.ofConfined()) {
            TokenBatch one = TokenBatch.of(List.of(new int[] {101, 102}));
            assertThrows(IllegalArgumentException.class, () -> encoder.embed(one, confined));
        }
    }

    /** Max |Java - ORT| over every real token of {@code batch}, Java using {@code weights}. */
    static double maxDifference(TokenBatch batch, java.util.function.Function<OnnxLinear, FloatMatrix> weights,
            OrtReference reference) throws Exception {
        return maxDifference(encoder, batch, weights, reference);
    }

    /** Max |Java - ORT| over every real token of {@code batch}. */
    public static double maxDifference(BertEncoder bert, TokenBatch batch,
            java.util.function.Function<OnnxLinear, FloatMatrix> weights, OrtReference reference) throws Exception {
        float[][][] expected = reference.lastHiddenState(batch);
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix actual = bert.forward(batch, arena, weights);
            double worst = 0;
            for (int s = 0; s < batch.size(); s++) {
                for (int t = 0; t < batch.length(s); t++) {
                    for (int c = 0; c < actual.cols(); c++) {
                        worst = Math.max(worst, Math.abs(expected[s][t][c] - actual.get(batch.offset(s) + t, c)));
                    }
                }
            }
            return worst;
        }
    }

    private static double dot(FloatMatrix m, int a, int b) {
        double sum = 0;
        for (int c = 0; c < m.cols(); c++) {
            sum += m.get(a, c) * m.get(b, c);
        }
        return sum;
    }
}
