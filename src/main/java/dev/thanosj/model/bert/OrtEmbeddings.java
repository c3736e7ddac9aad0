package dev.thanosj.model.bert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.thanosj.ThanosjException;
import dev.thanosj.model.text.TokenBatch;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Map;

/**
 * ONNX Runtime as the reference client: runs an ONNX BERT file (inputs {@code input_ids},
 * {@code attention_mask}, {@code token_type_ids}; output {@code last_hidden_state}) and mean-pools it into
 * sentence embeddings as sentence-transformers does. ONNX Runtime's Java API returns heap arrays; they are
 * per chunk of {@value #CHUNK} sequences, not per model.
 */
public final class OrtEmbeddings implements AutoCloseable {
    private static final int CHUNK = 32;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Path file;

    /** Opens {@code model} in ONNX Runtime with {@code threads} intra-op threads. */
    public OrtEmbeddings(Path model, int threads) {
        this.file = model;
        try {
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(threads);
            session = env.createSession(model.toString(), options);
        } catch (OrtException e) {
            throw new ThanosjException("ONNX Runtime cannot load " + model + ": " + e.getMessage(), e);
        }
    }

    /** {@code last_hidden_state} of a padded batch, {@code [batch][maxLength][hidden]}. */
    public float[][][] lastHiddenState(TokenBatch batch) {
        try (OnnxTensor ids = OnnxTensor.createTensor(env, batch.inputIds());
             OnnxTensor mask = OnnxTensor.createTensor(env, batch.attentionMask());
             OnnxTensor types = OnnxTensor.createTensor(env, batch.tokenTypeIds());
             OrtSession.Result result = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                     "token_type_ids", types))) {
            return (float[][][]) result.get("last_hidden_state")
                    .orElseThrow(() -> new ThanosjException(file + " has no output last_hidden_state"))
                    .getValue();
        } catch (OrtException e) {
            throw new ThanosjException("ONNX Runtime failed on " + file + ": " + e.getMessage(), e);
        }
    }

    /** Mean-pooled, L2-normalised sentence embeddings of {@code batch}: a new {@code size x hidden} matrix. */
    public FloatMatrix sentenceEmbeddings(TokenBatch batch, Arena target) {
        FloatMatrix out = null;
        for (int s0 = 0; s0 < batch.size(); s0 += CHUNK) {
            TokenBatch chunk = batch.slice(s0, Math.min(batch.size(), s0 + CHUNK));
            float[][][] hidden = lastHiddenState(chunk);
            if (out == null) {
                out = FloatMatrix.allocate(target, batch.size(), hidden[0][0].length);
            }
            for (int s = 0; s < chunk.size(); s++) {
                double[] mean = new double[out.cols()];
                for (int t = 0; t < chunk.length(s); t++) {
                    for (int h = 0; h < mean.length; h++) {
                        mean[h] += hidden[s][t][h];
                    }
                }
                double norm = 0;
                for (double v : mean) {
                    norm += v * v;
                }
                norm = Math.sqrt(norm);
                for (int h = 0; h < mean.length; h++) {
                    out.set(s0 + s, h, norm == 0 ? 0f : (float) (mean[h] / norm));
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the ONNX Runtime session of " + file, e);
        }
    }
}
