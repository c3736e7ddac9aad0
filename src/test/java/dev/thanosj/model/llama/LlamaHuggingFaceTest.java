package dev.thanosj.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forward pass against logits that Hugging Face {@code transformers} itself computed (float64, eager
 * attention) for tiny random checkpoints stored under {@code src/test/resources/llama/hf} (see its README):
 * an oracle written by someone else. Tolerance: {@code 1e-4 x max(1, max |logit|)}, as for
 * {@link ReferenceLlama}; measured differences are below 7e-6.
 */
class LlamaHuggingFaceTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama3-gqa", "qwen2-tied", "mistral-window"})
    void logitsMatchTransformers(String name) throws IOException, URISyntaxException {
        Path dir = Path.of(LlamaHuggingFaceTest.class.getResource("/llama/hf/" + name).toURI());
        List<int[]> sequences = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("tokens.txt"))) {
            if (!line.isBlank()) {
                sequences.add(Arrays.stream(line.replaceAll("[\\[\\] ]", "").split(",")).mapToInt(Integer::parseInt).toArray());
            }
        }
        FloatBuffer expected = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("hf_logits.bin")))
                .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        try (LlamaModel model = LlamaModel.open(dir); Arena arena = Arena.ofConfined()) {
            FloatMatrix logits = model.logits(sequences, arena);
            assertEquals(expected.remaining(), logits.size(), "logits of every token");
            double[][] rows = new double[logits.rows()][logits.cols()];
            for (int r = 0; r < logits.rows(); r++) {
                for (int c = 0; c < logits.cols(); c++) {
                    rows[r][c] = expected.get();
                }
            }
            LlamaForwardTest.assertClose(rows, logits, name);
        }
    }
}
