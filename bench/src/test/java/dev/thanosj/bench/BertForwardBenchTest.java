package dev.thanosj.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link BertForwardBench} once and checks that it times the whole forward pass: its result is the
 * last hidden state computed layer by layer through the public API ({@code embed}, then {@code layer} six
 * times), for every token of every document. (The forward pass itself is checked against ONNX Runtime by the
 * library's {@code BertEncoderTest}.)
 */
class BertForwardBenchTest {

    @Test
    void theBenchmarkRunsTheFullForwardPass() {
        BertForwardBench bench = new BertForwardBench();
        bench.kernels = System.getProperty("thanosj.kernels", "panama");
        bench.docs = 8;
        bench.setUp();
        try (Arena arena = Arena.ofShared()) {
            assertEquals(8, bench.batch.size());
            FloatMatrix expected = bench.encoder.embed(bench.batch, arena);
            for (int l = 0; l < bench.encoder.config().layers(); l++) {
                bench.encoder.layer(l, bench.batch, expected, BertEncoder.DENSE, null);
            }
            FloatMatrix actual = bench.encoder.forward(bench.batch, arena);
            assertEquals(bench.batch.totalTokens(), actual.rows());
            for (int r = 0; r < actual.rows(); r++) {
                for (int c = 0; c < actual.cols(); c++) {
                    assertTrue(Float.isFinite(actual.get(r, c)));
                    assertEquals(expected.get(r, c), actual.get(r, c), "token " + r + ", dimension " + c);
                }
            }
            assertEquals(BertForwardBench.checksum(actual), bench.forward(), 0.0);
        } finally {
            bench.tearDown();
        }
    }
}
