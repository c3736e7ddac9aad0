package dev.thanosj.model.bert;

import dev.thanosj.linalg.Linalg;
import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /** Mean cosine between two encoders' sentence embeddings (each with its file's weights), by the Java forward. */
    public static double javaFidelity(BertEncoder pruned, BertEncoder dense, TokenBatch text) {
        try (Arena arena = Arena.ofShared()) {
            FloatMatrix a = pruned.sentenceEmbeddings(text, arena, BertEncoder.DENSE);
            FloatMatrix b = dense.sentenceEmbeddings(text, arena, BertEncoder.DENSE);
            return Fidelity.meanCosine(a, b);
        }
    }

    /**
     * Per Linear, the relative output error {@code ‖X(Ŵ − W)‖² / ‖XW‖²} of the pruned weights Ŵ against the
     * dense W on the inputs X that Linear sees in the dense model on {@code text} (weights {@code [in, out]}).
     */
    public static Map<String, Double> layerLosses(BertEncoder pruned, BertEncoder dense, TokenBatch text) {
        Map<String, double[]> sums = new LinkedHashMap<>();
        try (Arena arena = Arena.ofShared()) {
            Map<String, FloatMatrix> delta = new HashMap<>();
            Map<String, FloatMatrix> denseWeights = new HashMap<>();
            List<OnnxLinear> prunedLinears = pruned.linears();
            List<OnnxLinear> denseLinears = dense.linears();
            for (int i = 0; i < denseLinears.size(); i++) {
                OnnxLinear d = denseLinears.get(i);
                FloatMatrix w = dense.readWeight(d, arena);
                FloatMatrix p = pruned.readWeight(prunedLinears.get(i), arena);
                FloatMatrix diff = FloatMatrix.allocate(arena, w.rows(), w.cols());
                for (int r = 0; r < w.rows(); r++) {
                    for (int c = 0; c < w.cols(); c++) {
                        diff.set(r, c, p.get(r, c) - w.get(r, c));
                    }
                }
                delta.put(d.label(), diff);
                denseWeights.put(d.label(), w);
                sums.put(d.label(), new double[2]);
            }
            FloatMatrix hidden = dense.embed(text, arena);
            Linalg linalg = Linalg.get();
            for (int layer = 0; layer < dense.config().layers(); layer++) {
                dense.layer(layer, text, hidden, hidden, BertEncoder.DENSE, (linear, x) -> {
                    try (Arena scratch = Arena.ofConfined()) {
                        FloatMatrix y = FloatMatrix.allocate(scratch, x.rows(), linear.outFeatures());
                        double[] s = sums.get(linear.label());
                        linalg.gemm(false, false, 1f, x, delta.get(linear.label()), 0f, y);
                        s[0] += sumOfSquares(y);
                        linalg.gemm(false, false, 1f, x, denseWeights.get(linear.label()), 0f, y);
                        s[1] += sumOfSquares(y);
                    }
                });
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        sums.forEach((name, s) -> out.put(name, s[1] == 0 ? 0 : s[0] / s[1]));
        return out;
    }

    /** Zeros over entries of all Linear weights of {@code encoder}'s file. */
    public static double sparsity(BertEncoder encoder) {
        long zeros = 0;
        long entries = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (OnnxLinear linear : encoder.linears()) {
                FloatMatrix w = encoder.readWeight(linear, arena);
                for (int r = 0; r < w.rows(); r++) {
                    for (int c = 0; c < w.cols(); c++) {
                        if (w.get(r, c) == 0f) {
                            zeros++;
                        }
                    }
                }
                entries += w.size();
            }
        }
        return entries == 0 ? 0 : zeros / (double) entries;
    }

    private static double sumOfSquares(FloatMatrix m) {
        double s = 0;
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                double v = m.get(r, c);
                s += v * v;
            }
        }
        return s;
    }
}
