package dev.thanosj.model.onnx;

import static dev.thanosj.model.OnnxProto.concat;
import static dev.thanosj.model.OnnxProto.field;
import static dev.thanosj.model.OnnxProto.varintField;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.bert.BertEncoder;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Small ONNX files written byte by byte: packed float_data, typed fields, a graph that is not a BERT. */
class HandMadeModelTest {
    @TempDir
    Path tmp;

    @Test
    void readsAndRewritesPackedFloatData() throws Exception {
        Path file = write("tiny.onnx", model(graph(
                field(1, node("x", "y", "Relu")),
                field(5, concat(varintField(1, 2), varintField(2, OnnxTensor.FLOAT),
                        field(4, floats(1.5f, -2f)), field(8, "w".getBytes(StandardCharsets.UTF_8)))),
                field(5, concat(varintField(1, 1), varintField(2, OnnxTensor.INT64), varintField(7, 5),
                        field(8, "n".getBytes(StandardCharsets.UTF_8)))))));
        try (OnnxModel model = OnnxModel.open(file); Arena arena = Arena.ofShared()) {
            assertEquals(1, model.nodes().size());
            assertEquals(List.of(), model.linears());
            OnnxTensor w = model.initializer("w");
            assertEquals(OnnxTensor.Location.FLOAT_DATA, w.location());
            FloatMatrix values = model.readMatrix(w, arena);
            assertEquals(1.5f, values.get(0, 0));
            assertEquals(-2f, values.get(0, 1));
            assertEquals(OnnxTensor.Location.TYPED_FIELD, model.initializer("n").location());
            assertThrows(ThanosjException.class, () -> model.int64Values(model.initializer("n")));

            FloatMatrix replacement = FloatMatrix.allocate(arena, 1, 2);
            replacement.set(0, 1, 7f);
            Path copy = tmp.resolve("copy.onnx");
            OnnxWriter.write(model, Map.of("w", replacement), copy);
            try (OnnxModel rewritten = OnnxModel.open(copy)) {
                FloatMatrix read = rewritten.readMatrix(rewritten.initializer("w"), arena);
                assertEquals(0f, read.get(0, 0));
                assertEquals(7f, read.get(0, 1));
            }

            ThanosjException notBert = assertThrows(ThanosjException.class, () -> BertEncoder.of(model));
            assertTrue(notBert.getMessage().startsWith("tiny.onnx is not a BERT encoder this library can run: "), notBert.getMessage());
        }
    }

    @Test
    void rejectsInconsistentTensorsAndFramings() throws Exception {
        byte[] shortData = model(graph(field(5, concat(varintField(1, 3), varintField(2, OnnxTensor.FLOAT),
                field(9, new byte[8]), field(8, "w".getBytes(StandardCharsets.UTF_8))))));
        assertNotOnnx(write("short.onnx", shortData), "needs 12 bytes but holds 8");
        byte[] duplicate = model(graph(
                field(5, concat(varintField(2, OnnxTensor.FLOAT), field(9, new byte[4]), field(8, new byte[] {'a'}))),
                field(5, concat(varintField(2, OnnxTensor.FLOAT), field(9, new byte[4]), field(8, new byte[] {'a'})))));
        assertNotOnnx(write("twice.onnx", duplicate), "two initializers are called a");
        byte[] longVarint = {0x08, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
        assertNotOnnx(write("varint.onnx", longVarint), "varint");
        byte[] noGraph = varintField(1, 7);
        assertNotOnnx(write("nograph.onnx", noGraph), "no graph");
        byte[] badUtf8 = model(graph(field(1, concat(field(4, new byte[] {(byte) 0xc3, 0x28})))));
        assertNotOnnx(write("utf8.onnx", badUtf8), "UTF-8");
    }

    private static void assertNotOnnx(Path file, String detail) {
        ThanosjException e = assertThrows(ThanosjException.class, () -> OnnxModel.open(file).close());
        assertTrue(e.getMessage().startsWith(file + " is not an ONNX model: ") && e.getMessage().contains(detail), e.getMessage());
    }

    private Path write(String name, byte[] bytes) throws Exception {
        Path file = tmp.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    private static byte[] model(byte[] graph) {
        return concat(varintField(1, 8), field(7, graph));
    }

    private static byte[] graph(byte[]... fields) {
        return concat(fields);
    }

    private static byte[] node(String input, String output, String opType) {
        return concat(field(1, input.getBytes(StandardCharsets.UTF_8)), field(2, output.getBytes(StandardCharsets.UTF_8)),
                field(4, opType.getBytes(StandardCharsets.UTF_8)));
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }
}
