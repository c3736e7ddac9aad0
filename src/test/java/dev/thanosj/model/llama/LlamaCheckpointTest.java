package dev.thanosj.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.ThanosjException;
import dev.thanosj.model.pipeline.LinearRef;
import dev.thanosj.model.safetensors.SafetensorsFile;
import dev.thanosj.model.safetensors.SafetensorsModel;
import dev.thanosj.model.safetensors.SafetensorsWriter;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Saving a model with replaced linears (new values after bf16 rounding, everything else byte-identical, the
 * shard layout kept, the folder loads again) and opening bad checkpoints (clear errors naming the file and
 * tensor, nothing written).
 */
class LlamaCheckpointTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void replacedLinearsAreSavedRoundedAndEverythingElseByteIdentical(int shards) throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("Qwen2ForCausalLM"), 21, shards);
        Path out = tmp.resolve("out");
        SplittableRandom random = new SplittableRandom(4);
        try (LlamaModel model = LlamaModel.open(dir); Arena arena = Arena.ofConfined()) {
            List<LinearRef> replaced = List.of(model.linears(0).get(0), model.linears(1).get(6), model.linears(1).get(3));
            for (LinearRef linear : replaced) {
                FloatMatrix w = model.weight(linear, arena);
                for (int r = 0; r < w.rows(); r++) {
                    for (int c = 0; c < w.cols(); c++) {
                        w.set(r, c, c % 2 == 0 ? 0f : (float) random.nextGaussian());
                    }
                }
                model.replaceWeight(linear, w);
                FloatMatrix back = model.weight(linear, arena);
                for (int r = 0; r < w.rows(); r++) {
                    for (int c = 0; c < w.cols(); c++) {
                        float rounded = DType.bf16ToFloat(DType.floatToBf16(w.get(r, c)));
                        assertEquals(rounded, back.get(r, c), "weight() returns the replacement, rounded to bf16");
                    }
                }
            }
            assertEquals(Set.copyOf(replaced.stream().map(LinearRef::name).toList()), model.replacedNames());
            model.save(out);

            try (SafetensorsModel before = SafetensorsModel.open(dir); SafetensorsModel after = SafetensorsModel.open(out)) {
                assertEquals(before.names(), after.names());
                assertEquals(fileNames(dir), fileNames(out), "shards, index, config, tokenizer, generation config");
                for (int s = 0; s < shards; s++) {
                    assertEquals(before.shards().get(s).names(), after.shards().get(s).names(), "same tensors per shard");
                }
                for (String name : before.names()) {
                    assertEquals(before.info(name).dtypeName(), after.info(name).dtypeName(), name);
                    assertArrayEquals(before.info(name).shape(), after.info(name).shape(), name);
                    byte[] expected = model.replacedNames().contains(name)
                            ? bf16Bytes(model.weight(ref(model, name), arena))
                            : before.bytes(name).toArray(ValueLayout.JAVA_BYTE);
                    assertArrayEquals(expected, after.bytes(name).toArray(ValueLayout.JAVA_BYTE), name);
                }
                assertArrayEquals(Files.readAllBytes(dir.resolve("tokenizer.json")),
                        Files.readAllBytes(out.resolve("tokenizer.json")));
            }
            try (LlamaModel reopened = LlamaModel.open(out); Arena a2 = Arena.ofConfined()) {
                List<int[]> tokens = TinyLlama.tokens(1, 2, 10, 48);
                FloatMatrix expected = model.logits(tokens, a2);
                FloatMatrix actual = reopened.logits(tokens, a2);
                for (int r = 0; r < expected.rows(); r++) {
                    for (int c = 0; c < expected.cols(); c++) {
                        assertEquals(expected.get(r, c), actual.get(r, c), "the saved model computes what the edited one did");
                    }
                }
            }
        }
    }

    @Test
    void aReplacementOfTheWrongShapeOrForAnotherModelIsRefused() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 22, 1);
        try (LlamaModel model = LlamaModel.open(dir); Arena arena = Arena.ofConfined()) {
            LinearRef q = model.linears(0).getFirst();
            assertThrows(IllegalArgumentException.class, () -> model.replaceWeight(q, FloatMatrix.allocate(arena, 2, 2)));
            LinearRef foreign = new LinearRef("model.layers.0.self_attn.q_proj.weight", 0, 33, 32);
            assertThrows(IllegalArgumentException.class, () -> model.weight(foreign, arena));
            assertThrows(ThanosjException.class, () -> model.save(dir), "the output may not be the input");
        }
    }

    @Test
    void theLinearsAreTheSevenProjectionsInPruningLayout() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 23, 1);
        try (LlamaModel model = LlamaModel.open(dir)) {
            assertEquals(2, model.blocks());
            assertEquals(List.of(
                    new LinearRef("model.layers.1.self_attn.q_proj.weight", 1, 32, 32),
                    new LinearRef("model.layers.1.self_attn.k_proj.weight", 1, 16, 32),
                    new LinearRef("model.layers.1.self_attn.v_proj.weight", 1, 16, 32),
                    new LinearRef("model.layers.1.self_attn.o_proj.weight", 1, 32, 32),
                    new LinearRef("model.layers.1.mlp.gate_proj.weight", 1, 48, 32),
                    new LinearRef("model.layers.1.mlp.up_proj.weight", 1, 48, 32),
                    new LinearRef("model.layers.1.mlp.down_proj.weight", 1, 32, 48)), model.linears(1));
        }
    }

    @Test
    void missingOrUnsupportedConfig() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 24, 1);
        Files.delete(dir.resolve("config.json"));
        assertMessage(dir, "has no config.json");
        Files.writeString(dir.resolve("config.json"), TinyLlama.config("PhiForCausalLM").toString());
        assertMessage(dir, "architecture 'PhiForCausalLM' is not supported");
    }

    @Test
    void aTensorMissingFromTheIndex() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 25, 2);
        Path index = dir.resolve("model.safetensors.index.json");
        ObjectNode json = (ObjectNode) TinyLlama.JSON.readTree(index.toFile());
        ((ObjectNode) json.get("weight_map")).remove("model.layers.1.mlp.up_proj.weight");
        Files.writeString(index, json.toString());
        assertMessage(dir, "tensor 'model.layers.1.mlp.up_proj.weight' of shard 'model-00002-of-00002.safetensors' "
                + "is missing from the index");
    }

    @Test
    void aTensorMissingFromTheCheckpoint() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 26, 1);
        rewriteWithout(dir.resolve("model.safetensors"), "model.layers.1.self_attn.v_proj.weight");
        assertMessage(dir, dir.resolve("model.safetensors") + ": has no tensor 'model.layers.1.self_attn.v_proj.weight', "
                + "which LlamaForCausalLM needs");
    }

    @Test
    void aTensorOfTheWrongShape() throws IOException {
        ObjectNode config = TinyLlama.config("LlamaForCausalLM");
        Path dir = TinyLlama.write(tmp.resolve("in"), config, 27, 1);
        Files.writeString(dir.resolve("config.json"), config.put("intermediate_size", 40).toString());
        assertMessage(dir, "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [48, 32], config.json implies [40, 32]");
    }

    @Test
    void aTruncatedShard() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 28, 2);
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        byte[] bytes = Files.readAllBytes(shard);
        Files.write(shard, Arrays.copyOf(bytes, bytes.length - 100));
        assertMessage(dir, shard.toString());
    }

    @Test
    void aHeaderThatLiesAboutOffsets() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 29, 1);
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = (ObjectNode) TinyLlama.JSON.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
        // the norm claims the bytes of the embedding: offsets that overlap another tensor and disagree with its shape
        ((ObjectNode) header.get("model.norm.weight")).putArray("data_offsets").add(0).add(64);
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(json, (int) n);
        Arrays.fill(padded, json.length, (int) n, (byte) ' ');
        System.arraycopy(padded, 0, bytes, 8, (int) n);
        Files.write(file, bytes);
        ThanosjException e = assertThrows(ThanosjException.class, () -> LlamaModel.open(dir));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("model.norm.weight"), e.getMessage());
    }

    @Test
    void quantizedWeightsAreRefusedByName() throws IOException {
        Path dir = TinyLlama.write(tmp.resolve("in"), TinyLlama.config("LlamaForCausalLM"), 30, 1);
        Path file = dir.resolve("model.safetensors");
        try (SafetensorsModel st = SafetensorsModel.open(dir)) {
            List<SafetensorsWriter.Raw> tensors = st.names().stream()
                    .map(name -> name.equals("model.layers.0.mlp.up_proj.weight")
                            ? new SafetensorsWriter.Raw(name, "I16", st.info(name).shape(), st.bytes(name))
                            : SafetensorsWriter.Raw.copyOf(st.shardOf(name), name))
                    .toList();
            SafetensorsWriter.write(tmp.resolve("q.safetensors"), tensors, Map.of());
        }
        Files.move(tmp.resolve("q.safetensors"), file, StandardCopyOption.REPLACE_EXISTING);
        assertMessage(dir, "tensor 'model.layers.0.mlp.up_proj.weight' has dtype I16");
    }

    private static void assertMessage(Path dir, String expected) {
        ThanosjException e = assertThrows(ThanosjException.class, () -> LlamaModel.open(dir));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(Files.exists(dir.resolveSibling("out")), "nothing written");
    }

    /** Rewrites safetensors file {@code file} without tensor {@code name}. */
    private static void rewriteWithout(Path file, String name) throws IOException {
        Path copy = file.resolveSibling("copy.safetensors");
        try (var st = SafetensorsFile.open(file)) {
            var tensors = st.names().stream().filter(t -> !t.equals(name))
                    .map(t -> SafetensorsWriter.Raw.copyOf(st, t)).toList();
            SafetensorsWriter.write(copy, tensors, st.metadata());
        }
        Files.move(copy, file, StandardCopyOption.REPLACE_EXISTING);
    }

    private static LinearRef ref(LlamaModel model, String name) {
        for (int b = 0; b < model.blocks(); b++) {
            for (LinearRef l : model.linears(b)) {
                if (l.name().equals(name)) {
                    return l;
                }
            }
        }
        throw new AssertionError(name);
    }

    private static byte[] bf16Bytes(FloatMatrix m) {
        try (Arena arena = Arena.ofConfined()) {
            var storage = arena.allocate(m.size() * 2);
            m.toStorage(storage, DType.BF16);
            return storage.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
