package dev.thanosj.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.bert.MiniLm;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelTest {
    private static OnnxModel model;

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() {
        model = OnnxModel.open(MiniLm.modelFile());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void readsTheGraphOfMiniLm() {
        assertEquals(List.of("input_ids", "attention_mask", "token_type_ids"),
                model.inputs().stream().map(OnnxValueInfo::name).toList());
        assertEquals(OnnxTensor.INT64, model.inputs().getFirst().elementType());
        assertEquals("last_hidden_state", model.outputs().getFirst().name());
        assertEquals(637, model.nodes().size());
        OnnxTensor words = model.initializer("embeddings.word_embeddings.weight");
        assertEquals(List.of(30522L, 384L), words.dims());
        assertEquals(OnnxTensor.Location.RAW_DATA, words.location());
        assertEquals(30522L * 384 * 4, words.dataLength());
        assertEquals("MatMul", model.producer("/encoder/layer.0/attention/self/query/MatMul_output_0").opType());
        assertEquals(1e-12, model.scalar(model.constant("/embeddings/LayerNorm/Constant_1_output_0")), 1e-18);
        long[] positions = model.int64Values(model.initializer("embeddings.position_ids"));
        assertEquals(511, positions[511]);
    }

    @Test
    void findsTheThirtySixLinearsThroughTheirMatMuls() {
        List<OnnxLinear> linears = model.linears();
        assertEquals(36, linears.size());
        List<String> roles = List.of("query", "key", "value", "attention.output", "intermediate", "output");
        for (int layer = 0; layer < 6; layer++) {
            int l = layer;
            assertEquals(roles, linears.stream().filter(x -> x.layer() == l).map(OnnxLinear::role).toList());
        }
        OnnxLinear query = linears.getFirst();
        assertEquals("/encoder/layer.0/attention/self/query/MatMul", query.nodeName());
        assertEquals("onnx::MatMul_787", query.weight().name());
        assertEquals("encoder.layer.0.attention.self.query.bias", query.bias().name());
        OnnxLinear intermediate = linears.get(4);
        assertEquals(384, intermediate.inFeatures());
        assertEquals(1536, intermediate.outFeatures());
        assertEquals(1536, linears.get(5).inFeatures());
        try (Arena arena = Arena.ofConfined()) {
            FloatMatrix w = model.readMatrix(query.weight(), arena);
            assertEquals(384, w.rows());
            assertTrue(Float.isFinite(w.get(383, 383)) && w.get(0, 0) != 0f);
        }
    }

    @Test
    void rejectsRandomBytes() throws IOException {
        byte[] bytes = new byte[4096];
        new SplittableRandom(7).nextBytes(bytes);
        assertRejected(write("random.onnx", bytes));
    }

    @Test
    void rejectsATruncatedModel() throws IOException {
        byte[] head = new byte[100_000];
        try (var in = Files.newInputStream(model.path())) {
            assertEquals(head.length, in.readNBytes(head, 0, head.length));
        }
        ThanosjException e = assertRejected(write("truncated.onnx", head));
        assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
    }

    @Test
    void rejectsTextAndEmptyFiles() throws IOException {
        assertRejected(write("notes.onnx", "hello world, this is not a model\n".getBytes(StandardCharsets.UTF_8)));
        ThanosjException empty = assertRejected(write("empty.onnx", new byte[0]));
        assertTrue(empty.getMessage().contains("no ir_version"), empty.getMessage());
    }

    @Test
    void rejectsMissingFilesAndFolders() {
        ThanosjException missing = assertThrows(ThanosjException.class, () -> OnnxModel.open(tmp.resolve("absent.onnx")));
        assertTrue(missing.getMessage().contains("absent.onnx"));
        ThanosjException folder = assertThrows(ThanosjException.class, () -> OnnxModel.open(tmp));
        assertTrue(folder.getMessage().contains("directory"));
    }

    @Test
    void refusesToReadValuesItDoesNotHave() {
        OnnxTensor typed = new OnnxTensor("t", OnnxTensor.FLOAT, List.of(2L), OnnxTensor.Location.TYPED_FIELD, -1, 0);
        ThanosjException e = assertThrows(ThanosjException.class, () -> model.data(typed));
        assertTrue(e.getMessage().contains("'t'"));
        assertNull(model.initializer("no such tensor"));
        assertNotNull(model.initializer("onnx::MatMul_787"));
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path file = tmp.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    private static ThanosjException assertRejected(Path file) {
        ThanosjException e = assertThrows(ThanosjException.class, () -> OnnxModel.open(file).close());
        assertTrue(e.getMessage().startsWith(file + " is not an ONNX model: "), e.getMessage());
        return e;
    }
}
