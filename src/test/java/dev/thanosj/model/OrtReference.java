package dev.thanosj.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.thanosj.model.text.TokenBatch;
import java.nio.file.Path;
import java.util.Map;

/** ONNX Runtime, the reference client: runs an ONNX BERT file on a padded batch. Test scope only. */
public final class OrtReference implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    public OrtReference(Path model) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(Math.min(4, Runtime.getRuntime().availableProcessors()));
        session = env.createSession(model.toString(), options);
    }

    /** {@code last_hidden_state} as {@code [batch][maxLength][hidden]} (padding positions included). */
    public float[][][] lastHiddenState(TokenBatch batch) throws OrtException {
        try (OnnxTensor ids = OnnxTensor.createTensor(env, batch.inputIds());
             OnnxTensor mask = OnnxTensor.createTensor(env, batch.attentionMask());
             OnnxTensor types = OnnxTensor.createTensor(env, batch.tokenTypeIds());
             OrtSession.Result result = session.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
            return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
