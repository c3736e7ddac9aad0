package dev.thanosj.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.OrtReference;
import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.model.bert.MiniLm;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.model.text.Tokenizer;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pruned copy written by {@link OnnxWriter} runs in ONNX Runtime and agrees with the Java forward pass. */
class OnnxWriterTest {
    private static OnnxModel dense;
    private static BertEncoder encoder;
    private static TokenBatch batch;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        dense = OnnxModel.open(MiniLm.modelFile());
        encoder = BertEncoder.of(dense);
        try (Tokenizer tokenizer = MiniLm.tokenizer(Tokenizer.DEFAULT_MAX_LENGTH)) {
            batch = tokenizer.encode(List.of("Hello world!", "Sparse models need careful calibration.",
                    "The committee adopted the report by a large majority after a long debate on fisheries."));
        }
    }

    @AfterAll
    static void close() {
        encoder.close();
        dense.close();
    }

    @Test
    void onnxRuntimeRunsThePrunedCopyAndTheJavaForwardAgreesWithIt() throws Exception {
        OnnxLinear query = encoder.linears(0).getFirst();
        Path output = tmp.resolve("pruned.onnx");
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix pruned = encoder.readWeight(query, arena);
            pruned.rows(0, query.inFeatures() / 2).fill(0f); // zero half of the query weight
            OnnxWriter.write(dense, Map.of(query.weight().name(), pruned), output);
            Function<OnnxLinear, FloatMatrix> replaced = linear -> linear.equals(query) ? pruned : null;

            assertEquals(Files.size(dense.path()), Files.size(output));
            try (OnnxModel copy = OnnxModel.open(output)) {
                assertEquals(dense.nodes(), copy.nodes());
                assertEquals(dense.initializers(), copy.initializers());
                OnnxTensor key = copy.initializer(encoder.linears(0).get(1).weight().name());
                assertEquals(-1, copy.data(key).mismatch(dense.data(key)));
                assertEquals(0f, copy.readMatrix(query.weight(), arena).get(10, 7));

                try (OrtReference ort = new OrtReference(output)) {
                    float[][][] prunedOrt = ort.lastHiddenState(batch);
                    FloatMatrix denseJava = encoder.forward(batch, arena);
                    double change = 0;
                    for (int s = 0; s < batch.size(); s++) {
                        for (int t = 0; t < batch.length(s); t++) {
                            for (int c = 0; c < 384; c++) {
                                change = Math.max(change, Math.abs(prunedOrt[s][t][c] - denseJava.get(batch.offset(s) + t, c)));
                            }
                        }
                    }
                    assertTrue(change > 1e-2, "pruning half of a query weight changed the output by only " + change);

                    double javaReplaced = maxDifference(encoder, replaced, prunedOrt, arena);
                    try (BertEncoder fromCopy = BertEncoder.of(copy)) {
                        double javaCopy = maxDifference(fromCopy, BertEncoder.DENSE, prunedOrt, arena);
                        System.out.printf("pruned copy: output change %.3g; max |java - onnxruntime| %.3g (replaced weight), %.3g (copy's weights)%n",
                                change, javaReplaced, javaCopy);
                        assertTrue(javaCopy <= 1e-4, "java forward on the copy vs onnxruntime: " + javaCopy);
                    }
                    assertTrue(javaReplaced <= 1e-4, "java forward with the replaced weight vs onnxruntime: " + javaReplaced);
                }
            }
        }
    }

    @Test
    void rejectsUnknownTensorsWrongShapesAndTheInputAsOutput() {
        Path output = tmp.resolve("out.onnx");
        OnnxLinear query = encoder.linears(0).getFirst();
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix small = FloatMatrix.allocate(arena, 2, 2);
            ThanosjException unknown = assertThrows(ThanosjException.class,
                    () -> OnnxWriter.write(dense, Map.of("no.such.tensor", small), output));
            assertTrue(unknown.getMessage().contains("no.such.tensor"));
            ThanosjException shape = assertThrows(ThanosjException.class,
                    () -> OnnxWriter.write(dense, Map.of(query.weight().name(), small), output));
            assertTrue(shape.getMessage().contains("[384, 384]"), shape.getMessage());
            ThanosjException notFloat = assertThrows(ThanosjException.class,
                    () -> OnnxWriter.write(dense, Map.of("embeddings.position_ids", small), output));
            assertTrue(notFloat.getMessage().contains("INT64"), notFloat.getMessage());
            assertThrows(ThanosjException.class, () -> OnnxWriter.write(dense, Map.of(), dense.path()));
        }
        assertFalse(Files.exists(output));
    }

    private static double maxDifference(BertEncoder bert, Function<OnnxLinear, FloatMatrix> weights, float[][][] expected, Arena arena) {
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
