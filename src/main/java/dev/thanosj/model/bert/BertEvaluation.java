package dev.thanosj.model.bert;

import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Sentence-embedding fidelity of a pruned BERT against its dense reference on held-out text: by our Java
 * forward pass and, for written files, by ONNX Runtime. The two are expected to agree within
 * {@value #AGREEMENT}: both compute the same float32 model, and a mean of cosines near 1 is insensitive to
 * float32 rounding far below that.
 */
public final class BertEvaluation {
    /** Largest accepted difference between the Java and the ONNX Runtime fidelity. */
    public static final double AGREEMENT = 1e-3;

    private BertEvaluation() {
    }

    /** Mean cosine between {@code pruned} and {@code dense} weights of one encoder, by the Java forward. */
    public static double javaFidelity(BertEncoder encoder, Function<OnnxLinear, FloatMatrix> pruned,
            Function<OnnxLinear, FloatMatrix> dense, TokenBatch text) {
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix a = encoder.sentenceEmbeddings(text, arena, pruned);
            FloatMatrix b = encoder.sentenceEmbeddings(text, arena, dense);
            return Fidelity.meanCosine(a, b);
        }
    }

    /** Mean cosine between two ONNX files' sentence embeddings, by ONNX Runtime. */
    public static double ortFidelity(Path pruned, Path dense, TokenBatch text, int threads) {
        try (Arena arena = Arena.ofConfined();
             OrtEmbeddings a = new OrtEmbeddings(pruned, threads);
             OrtEmbeddings b = new OrtEmbeddings(dense, threads)) {
            return Fidelity.meanCosine(a.sentenceEmbeddings(text, arena), b.sentenceEmbeddings(text, arena));
        }
    }
}
