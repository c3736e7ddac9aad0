package dev.thanosj.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.safetensors.SafetensorsWriter.FromMatrix;
import dev.thanosj.model.safetensors.SafetensorsWriter.Raw;
import dev.thanosj.model.safetensors.SafetensorsWriter.WrittenModel;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsModelTest {
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";
    private static final String INDEX = """
            {
              "metadata": {"total_size": 280},
              "weight_map": {
                "lm_head.weight": "model-00002-of-00002.safetensors",
                "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                "model.layers.0.norm.weight": "model-00001-of-00002.safetensors",
                "model.layers.0.q.weight": "model-00001-of-00002.safetensors",
                "model.layers.1.q.weight": "model-00002-of-00002.safetensors",
                "position_ids": "model-00002-of-00002.safetensors"
              }
            }
            """;

    @TempDir
    Path root;

    private Path model;
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void closeArena() {
        arena.close();
    }

    private FloatMatrix random(int rows, int cols, long seed) {
        Random random = new Random(seed);
        FloatMatrix m = FloatMatrix.allocate(arena, rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                m.set(r, c, (float) random.nextGaussian());
            }
        }
        return m;
    }

    /** A tiny sharded checkpoint as save_pretrained writes it, plus files a pruned copy must or must not carry. */
    @BeforeEach
    void writeShardedModel() throws IOException {
        model = Files.createDirectory(root.resolve("tiny"));
        SafetensorsWriter.write(model.resolve(SHARD1), List.of(
                new FromMatrix("model.embed_tokens.weight", random(10, 4, 1), DType.BF16),
                new FromMatrix("model.layers.0.q.weight", random(4, 4, 2), DType.BF16),
                new FromMatrix("model.layers.0.norm.weight", random(1, 4, 3), DType.BF16, new long[] {4})),
                Map.of("format", "pt"));
        SafetensorsWriter.write(model.resolve(SHARD2), List.of(
                new FromMatrix("model.layers.1.q.weight", random(4, 4, 4), DType.BF16),
                new Raw("position_ids", "I64", new long[] {6}, MemorySegment.ofArray(new long[] {0, 1, 2, 3, 4, 5})),
                new FromMatrix("lm_head.weight", random(10, 4, 5), DType.F16)),
                Map.of("format", "pt"));
        Files.writeString(model.resolve(SafetensorsModel.INDEX_FILE), INDEX);
        Files.writeString(model.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"]}");
        Files.writeString(model.resolve("generation_config.json"), "{\"do_sample\": true}");
        Files.writeString(model.resolve("tokenizer.json"), "{\"model\": {}}");
        Files.writeString(model.resolve("tokenizer_config.json"), "{}");
        Files.writeString(model.resolve("pytorch_model.bin"), "unpruned weights");
        Files.writeString(model.resolve(".gitattributes"), "*.safetensors filter=lfs");
        Files.createDirectory(model.resolve("original"));
    }

    @Test
    void aShardedModelIsOneView() {
        try (SafetensorsModel m = SafetensorsModel.open(model)) {
            assertEquals(Optional.of(model.resolve(SafetensorsModel.INDEX_FILE)), m.index());
            assertEquals(List.of("lm_head.weight", "model.embed_tokens.weight", "model.layers.0.norm.weight",
                    "model.layers.0.q.weight", "model.layers.1.q.weight", "position_ids"), m.names());
            assertEquals(List.of(model.resolve(SHARD1), model.resolve(SHARD2)),
                    m.shards().stream().map(SafetensorsFile::path).toList());
            assertEquals(model.resolve(SHARD1), m.shardOf("model.layers.0.q.weight").path());
            assertEquals(model.resolve(SHARD2), m.shardOf("position_ids").path());
            assertEquals("I64", m.info("position_ids").dtypeName());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, m.bytes("position_ids").toArray(ValueLayout.JAVA_LONG));
            FloatMatrix lmHead = m.matrix(arena, "lm_head.weight");
            assertEquals(10, lmHead.rows());
            assertEquals(4, lmHead.cols());
            assertTrue(m.has("model.layers.1.q.weight"));
            ThanosjException e = assertThrows(ThanosjException.class, () -> m.info("model.layers.2.q.weight"));
            assertTrue(e.getMessage().startsWith(model.resolve(SafetensorsModel.INDEX_FILE)
                    + ": no tensor 'model.layers.2.q.weight' (has: lm_head.weight, "), e.getMessage());
        }
    }

    @Test
    void aSingleFileModelIsOneView() throws IOException {
        Path single = Files.createDirectory(root.resolve("single"));
        SafetensorsWriter.write(single.resolve(SafetensorsModel.SINGLE_FILE),
                List.of(new FromMatrix("w", random(3, 2, 6), DType.F32)), Map.of());
        try (SafetensorsModel m = SafetensorsModel.open(single)) {
            assertEquals(Optional.empty(), m.index());
            assertEquals(List.of("w"), m.names());
            assertEquals(1, m.shards().size());
            assertEquals(2, m.matrix(arena, "w").cols());
            ThanosjException e = assertThrows(ThanosjException.class, () -> m.shardOf("v"));
            assertEquals(single.resolve(SafetensorsModel.SINGLE_FILE) + ": no tensor 'v' (has: w)", e.getMessage());
        }
    }

    @Test
    void aShardedCheckpointIsWrittenWithTheSameLayout() throws IOException {
        Path out = root.resolve("pruned");
        FloatMatrix q0 = random(4, 4, 10);
        FloatMatrix norm = random(1, 4, 11);
        List<String> asked = new ArrayList<>();
        WrittenModel written;
        try (SafetensorsModel source = SafetensorsModel.open(model)) {
            written = SafetensorsWriter.writeModel(source, out, name -> {
                asked.add(name);
                return switch (name) {
                    case "model.layers.0.q.weight" -> q0;
                    case "model.layers.0.norm.weight" -> norm;
                    default -> null;
                };
            });
        }
        assertEquals(List.of("model.embed_tokens.weight", "model.layers.0.q.weight", "model.layers.0.norm.weight",
                "model.layers.1.q.weight", "position_ids", "lm_head.weight"), asked,
                "asked once per tensor, shard by shard, in file order");
        assertEquals(List.of(SHARD1, SHARD2, SafetensorsModel.INDEX_FILE), written.written());
        assertEquals(List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"),
                written.copied());
        assertEquals(List.of(".gitattributes", "original", "pytorch_model.bin"), written.skipped());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(SHARD1, SHARD2, "config.json", "generation_config.json", SafetensorsModel.INDEX_FILE,
                    "tokenizer.json", "tokenizer_config.json").stream().sorted().toList(),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        for (String name : List.of(SafetensorsModel.INDEX_FILE, "config.json", "generation_config.json", "tokenizer.json")) {
            assertEquals(-1, Files.mismatch(model.resolve(name), out.resolve(name)), name);
        }
        assertEquals(-1, Files.mismatch(model.resolve(SHARD2), out.resolve(SHARD2)), "an untouched shard is identical");
        assertNotEquals(-1, Files.mismatch(model.resolve(SHARD1), out.resolve(SHARD1)));

        try (SafetensorsModel before = SafetensorsModel.open(model); SafetensorsModel after = SafetensorsModel.open(out)) {
            assertEquals(before.names(), after.names());
            for (int s = 0; s < 2; s++) {
                SafetensorsFile a = before.shards().get(s);
                SafetensorsFile b = after.shards().get(s);
                assertEquals(a.path().getFileName(), b.path().getFileName());
                assertEquals(a.names(), b.names());
                assertEquals(a.metadata(), b.metadata());
                for (String name : a.names()) {
                    assertEquals(a.info(name), b.info(name), "same dtype, shape and offsets: " + name);
                }
            }
            for (String name : before.names()) {
                boolean replaced = name.equals("model.layers.0.q.weight") || name.equals("model.layers.0.norm.weight");
                if (!replaced) {
                    assertEquals(-1, before.bytes(name).mismatch(after.bytes(name)), "byte-identical: " + name);
                }
            }
            assertBf16Of(q0, after.matrix(arena, "model.layers.0.q.weight"));
            assertBf16Of(norm, after.matrix(arena, "model.layers.0.norm.weight"));
        }
    }

    private static void assertBf16Of(FloatMatrix expected, FloatMatrix actual) {
        assertEquals(expected.rows(), actual.rows());
        assertEquals(expected.cols(), actual.cols());
        for (int r = 0; r < expected.rows(); r++) {
            for (int c = 0; c < expected.cols(); c++) {
                assertEquals(DType.bf16ToFloat(DType.floatToBf16(expected.get(r, c))), actual.get(r, c));
            }
        }
    }

    @Test
    void aSingleFileCheckpointIsWrittenWithItsFiles() throws IOException {
        Path single = Files.createDirectory(root.resolve("single"));
        SafetensorsWriter.write(single.resolve(SafetensorsModel.SINGLE_FILE), List.of(
                new FromMatrix("a", random(3, 2, 6), DType.F16),
                new FromMatrix("b", random(2, 2, 7), DType.F32)), Map.of("format", "pt"));
        Files.writeString(single.resolve("config.json"), "{}");
        Path out = root.resolve("single-out");
        FloatMatrix b = random(2, 2, 8);
        try (SafetensorsModel source = SafetensorsModel.open(single)) {
            SafetensorsWriter.writeModel(source, out, name -> name.equals("b") ? b : null);
        }
        try (SafetensorsModel before = SafetensorsModel.open(single); SafetensorsModel after = SafetensorsModel.open(out)) {
            assertEquals(List.of("a", "b"), after.names());
            assertEquals(Map.of("format", "pt"), after.shards().getFirst().metadata());
            assertEquals(-1, before.bytes("a").mismatch(after.bytes("a")));
            FloatMatrix read = after.matrix(arena, "b");
            assertEquals(b.get(1, 1), read.get(1, 1));
        }
        assertEquals("{}", Files.readString(out.resolve("config.json")));
    }

    @Test
    void aWrongReplacementWritesNothing() throws IOException {
        Path out = root.resolve("pruned");
        try (SafetensorsModel source = SafetensorsModel.open(model)) {
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () ->
                    SafetensorsWriter.writeModel(source, out, name -> name.equals("model.layers.0.q.weight")
                            ? random(4, 3, 1) : null));
            assertTrue(shape.getMessage().contains("tensor 'model.layers.0.q.weight' [4, 4] is read as 4x4; "
                    + "its replacement is 4x3"), shape.getMessage());
            IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class, () ->
                    SafetensorsWriter.writeModel(source, out, name -> name.equals("position_ids") ? random(1, 6, 1) : null));
            assertTrue(dtype.getMessage().contains("tensor 'position_ids' has dtype I64"), dtype.getMessage());
            ThanosjException same = assertThrows(ThanosjException.class,
                    () -> SafetensorsWriter.writeModel(source, model, name -> null));
            assertTrue(same.getMessage().contains("is the input"), same.getMessage());
        }
        assertFalse(Files.exists(out));
        try (Stream<Path> left = Files.list(root)) {
            assertEquals(List.of(model), left.toList());
        }
    }

    @Test
    void aMissingShardNamesTheTensorAndTheShard() throws IOException {
        Files.delete(model.resolve(SHARD2));
        assertRejected(SafetensorsModel.INDEX_FILE + ": tensor 'lm_head.weight' is mapped to shard '" + SHARD2
                + "', which does not exist in " + model);
    }

    @Test
    void aTensorMissingFromItsShardNamesTheTensorAndTheShard() throws IOException {
        Files.writeString(model.resolve(SafetensorsModel.INDEX_FILE),
                INDEX.replace("\"position_ids\": \"" + SHARD2, "\"position_ids\": \"" + SHARD1));
        assertRejected(SafetensorsModel.INDEX_FILE + ": tensor 'position_ids' is mapped to shard '" + SHARD1
                + "', which does not hold it");
    }

    @Test
    void aTensorMissingFromTheIndexNamesTheTensorAndTheShard() throws IOException {
        Files.writeString(model.resolve(SafetensorsModel.INDEX_FILE),
                INDEX.replace("\"model.layers.1.q.weight\": \"" + SHARD2 + "\",", ""));
        assertRejected(SafetensorsModel.INDEX_FILE + ": tensor 'model.layers.1.q.weight' of shard '" + SHARD2
                + "' is missing from the index");
    }

    @Test
    void aTruncatedShardNamesTheShard() throws IOException {
        byte[] bytes = Files.readAllBytes(model.resolve(SHARD1));
        Files.write(model.resolve(SHARD1), Arrays.copyOf(bytes, bytes.length - 10));
        assertRejected(SHARD1 + ": tensor 'model.layers.0.q.weight' has data_offsets [80, 112] beyond the end of the data (110 bytes)");
    }

    @Test
    void aBadIndexIsRejected() throws IOException {
        Path index = model.resolve(SafetensorsModel.INDEX_FILE);
        Files.writeString(index, "{\"weight_map\": ");
        assertRejected(SafetensorsModel.INDEX_FILE + ": not valid JSON");
        Files.writeString(index, "{\"metadata\": {}}");
        assertRejected(SafetensorsModel.INDEX_FILE + ": has no \"weight_map\" object");
        Files.writeString(index, "{\"weight_map\": {\"w\": 3}}");
        assertRejected("weight_map: the value of 'w' is not a string");
        Files.writeString(index, "{\"weight_map\": {}}");
        assertRejected("the weight_map lists no tensors");
        Files.writeString(index, "{\"weight_map\": {\"w\": \"../tiny/" + SHARD1 + "\"}}");
        assertRejected("tensor 'w' is mapped to shard '../tiny/" + SHARD1 + "', which is not the name of a file in the model folder");
    }

    @Test
    void aFolderWithoutWeightsIsRejected() throws IOException {
        Path empty = Files.createDirectory(root.resolve("empty"));
        ThanosjException e = assertThrows(ThanosjException.class, () -> SafetensorsModel.open(empty));
        assertTrue(e.getMessage().startsWith(empty + ": has neither model.safetensors nor"), e.getMessage());
        e = assertThrows(ThanosjException.class, () -> SafetensorsModel.open(root.resolve("nope")));
        assertTrue(e.getMessage().contains("no such folder"), e.getMessage());
    }

    private void assertRejected(String message) {
        ThanosjException e = assertThrows(ThanosjException.class, () -> SafetensorsModel.open(model).close());
        assertTrue(e.getMessage().contains(message), () -> "expected '" + message + "' in: " + e.getMessage());
    }
}
