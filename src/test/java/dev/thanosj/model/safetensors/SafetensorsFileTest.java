package dev.thanosj.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(SafetensorsFileTest.class.getResource("/fixtures/pruning/" + name).toURI());
    }

    @Test
    void readsAFixtureWrittenByAnotherImplementation() throws Exception {
        try (SafetensorsFile file = SafetensorsFile.open(fixture("thanos-unstructured.safetensors"));
                Arena arena = Arena.ofConfined()) {
            assertEquals(List.of("weight", "inputs", "expected"), file.names());
            TensorInfo weight = file.info("weight");
            assertEquals("F32", weight.dtypeName());
            assertEquals(DType.F32, weight.dtype());
            assertArrayEquals(new long[] {16, 32}, weight.shape());
            assertEquals(0, weight.begin());
            assertEquals(2048, weight.end());
            assertArrayEquals(new long[] {256, 32}, file.info("inputs").shape());
            assertEquals(Set.of("method", "sparsity", "blockSize", "alpha", "structured", "percDamp", "relativeLoss"),
                    file.metadata().keySet());
            assertEquals("thanos", file.metadata().get("method"));
            assertEquals("0.5", file.metadata().get("sparsity"));

            FloatMatrix w = file.matrix(arena, "weight");
            assertEquals(16, w.rows());
            assertEquals(32, w.cols());
            assertEquals(-0.056803692f, w.get(0, 0));
            assertEquals(-0.028842824f, w.get(3, 5));
            assertEquals(0.020177672f, w.get(15, 31));
            FloatMatrix x = file.matrix(arena, "inputs");
            assertEquals(0.92208815f, x.get(255, 0));
            assertEquals(1.4157624f, x.get(100, 17));
            FloatMatrix expected = file.matrix(arena, "expected");
            assertEquals(0.29370537f, expected.get(0, 2));
            assertEquals(-0.23035313f, expected.get(0, 5));
            int zeros = 0;
            for (int r = 0; r < 16; r++) {
                for (int c = 0; c < 32; c++) {
                    zeros += expected.get(r, c) == 0 ? 1 : 0;
                }
            }
            assertEquals(256, zeros);
        }
    }

    @Test
    void namesFollowTheDataNotTheHeaderAndGapsAndEmptyTensorsAreAllowed() throws IOException {
        Path p = RawSafetensors.write(dir.resolve("order.safetensors"), """
                {"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]},\
                "e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},\
                "a":{"dtype":"I64","shape":[],"data_offsets":[12,20]},\
                "c":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}""", 24);
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertEquals(List.of("c", "e", "b", "a"), file.names());
            assertTrue(file.metadata().isEmpty());
            assertEquals(0, file.info("a").rank());
            assertEquals(1, file.info("a").elementCount());
            assertNull(file.info("a").dtype());
            MemorySegment b = file.bytes("b");
            assertArrayEquals(new byte[] {8, 9, 10, 11}, b.toArray(ValueLayout.JAVA_BYTE));
            assertTrue(b.isReadOnly());
            assertEquals(0, file.bytes("e").byteSize());
            try (Arena arena = Arena.ofConfined()) {
                FloatMatrix empty = file.matrix(arena, "e");
                assertEquals(0, empty.rows());
                assertEquals(3, empty.cols());
            }
        }
    }

    @Test
    void readsBf16AndF16AsFloat32() throws IOException {
        // c = BF16 [1.0, -2.0] (0x3F80, 0xC000); h = F16 [0.5, 65504] (0x3800, 0x7BFF), little-endian
        byte[] header = """
                {"c":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},\
                "h":{"dtype":"F16","shape":[2,1],"data_offsets":[4,8]}}""".getBytes(StandardCharsets.UTF_8);
        byte[] data = {(byte) 0x80, 0x3F, 0x00, (byte) 0xC0, 0x00, 0x38, (byte) 0xFF, 0x7B};
        Path p = RawSafetensors.write(dir.resolve("half.safetensors"), header.length, header, data);
        try (SafetensorsFile file = SafetensorsFile.open(p); Arena arena = Arena.ofConfined()) {
            FloatMatrix c = file.matrix(arena, "c");
            assertEquals(1, c.rows());
            assertEquals(2, c.cols());
            assertEquals(1.0f, c.get(0, 0));
            assertEquals(-2.0f, c.get(0, 1));
            FloatMatrix h = file.matrix(arena, "h");
            assertEquals(2, h.rows());
            assertEquals(0.5f, h.get(0, 0));
            assertEquals(65504f, h.get(1, 0));
        }
    }

    @Test
    void closingUnmapsTheFile() throws Exception {
        SafetensorsFile file = SafetensorsFile.open(fixture("thanos-unstructured.safetensors"));
        MemorySegment weight = file.bytes("weight");
        file.close();
        assertThrows(IllegalStateException.class, () -> weight.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void aMissingTensorListsWhatTheFileHas() throws Exception {
        Path p = fixture("thanos-unstructured.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertFalse(file.has("hessian"));
            ThanosjException e = assertThrows(ThanosjException.class, () -> file.info("hessian"));
            assertEquals(p + ": no tensor 'hessian' (has: weight, inputs, expected)", e.getMessage());
        }
    }

    @Test
    void aMissingTensorAmongManyListsAFew() throws IOException {
        StringBuilder json = new StringBuilder("{");
        for (int i = 0; i < 20; i++) {
            json.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[")
                    .append(i).append(',').append(i + 1).append("]}");
        }
        Path p = RawSafetensors.write(dir.resolve("many.safetensors"), json.append('}').toString(), 20);
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            ThanosjException e = assertThrows(ThanosjException.class, () -> file.bytes("x"));
            assertEquals(p + ": no tensor 'x' (has: t0, t1, t2, t3, t4, t5, t6, t7, … (20 tensors))", e.getMessage());
        }
    }

    @Test
    void readingAsFloatNeedsAFloatDtypeAndRankOneOrTwo() throws IOException {
        Path p = RawSafetensors.write(dir.resolve("types.safetensors"), """
                {"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},\
                "cube":{"dtype":"F32","shape":[1,1,2],"data_offsets":[16,24]},\
                "scalar":{"dtype":"F32","shape":[],"data_offsets":[24,28]}}""", 28);
        try (SafetensorsFile file = SafetensorsFile.open(p); Arena arena = Arena.ofConfined()) {
            assertEquals(p + ": tensor 'ids' has dtype I64; only F32, BF16 and F16 tensors can be read as float32",
                    assertThrows(ThanosjException.class, () -> file.matrix(arena, "ids")).getMessage());
            assertEquals(p + ": tensor 'cube' has rank 3 [1, 1, 2]; expected a matrix (rank 2) or a vector (rank 1)",
                    assertThrows(ThanosjException.class, () -> file.matrix(arena, "cube")).getMessage());
            assertTrue(assertThrows(ThanosjException.class, () -> file.matrix(arena, "scalar")).getMessage()
                    .contains("'scalar' has rank 0"));
            assertEquals(16, file.bytes("ids").byteSize());
        }
    }

    @Test
    void aFileShorterThanEightBytesIsRejected() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertRejected(p, "3 bytes is too short");
        Files.write(p, new byte[0]);
        assertRejected(p, "0 bytes is too short");
    }

    @Test
    void aHeaderLongerThanTheFileIsRejected() throws IOException {
        byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
        assertRejected(RawSafetensors.write(dir.resolve("long.safetensors"), 1000, header, new byte[0]),
                "header length 1000 is larger than the 2 bytes that follow it");
        assertRejected(RawSafetensors.write(dir.resolve("huge.safetensors"), -1, header, new byte[0]),
                "header length 18446744073709551615 exceeds the limit");
        assertRejected(RawSafetensors.write(dir.resolve("tiny.safetensors"), 1, header, new byte[0]),
                "header length 1 is too short");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "not json at all                | header is not valid JSON",
        "[1, 2]                         | header is not a JSON object",
        "`{\"a\":1} trailing`           | header is not valid JSON",
        "`{\"__metadata__\":{\"k\":1}}` | __metadata__: the value of 'k' is not a string",
        "`{\"__metadata__\":[]}`        | __metadata__ is not a JSON object",
        "`{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}` | Duplicate field 'w'",
    })
    void aHeaderThatIsNotTheRightJsonIsRejected(String json, String message) throws IOException {
        assertRejected(RawSafetensors.write(dir.resolve("bad.safetensors"), json, 4), message);
    }

    @Test
    void aHeaderThatIsNotUtf8IsRejected() throws IOException {
        byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        assertRejected(RawSafetensors.write(dir.resolve("latin.safetensors"), header.length, header, new byte[0]),
                "header is not valid UTF-8");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // entry                                                                   | message after "tensor 'w' "
        "'\"F32\"'                                                                  | is not a JSON object",
        "'{\"shape\":[2],\"data_offsets\":[0,8]}'                                   | has no \"dtype\" string",
        "'{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}'                  | has unknown dtype 'Q4'",
        "'{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}'                 | has unknown dtype 'f32'",
        "'{\"dtype\":\"F32\",\"data_offsets\":[0,8]}'                               | has no \"shape\"",
        "'{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}'                | has \"shape\" [-2], which is not an array of non-negative integers",
        "'{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}'               | has \"shape\" [2.5]",
        "'{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}'                   | has no \"data_offsets\" that is an array of 2 non-negative integers",
        "'{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}'                 | has data_offsets [8, 0] that end before they begin",
        "'{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}' | has \"data_offsets\" [0,99999999999999999999]",
        "'{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}'                | has data_offsets [0, 16] beyond the end of the data (8 bytes)",
        "'{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}'                 | data_offsets [0, 8] hold 8 bytes, F32 [3] needs 12",
        "'{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}' | is F32 [4294967296, 4294967296], whose size overflows 64 bits",
        "'{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}'                  | is F4 [3], which does not fill whole bytes",
    })
    void aTensorEntryThatLiesIsRejected(String entry, String message) throws IOException {
        Path p = RawSafetensors.write(dir.resolve("lies.safetensors"), "{\"w\":" + entry + "}", 8);
        assertRejected(p, "tensor 'w' " + message);
    }

    @Test
    void aSizeThatDoesNotMatchShapeTimesDtypeNamesFileAndTensor() throws IOException {
        Path p = RawSafetensors.write(dir.resolve("model.safetensors"),
                "{\"layers.0.w\":{\"dtype\":\"F32\",\"shape\":[5,6],\"data_offsets\":[0,100]}}", 100);
        ThanosjException e = assertThrows(ThanosjException.class, () -> SafetensorsFile.open(p));
        assertEquals(p + ": tensor 'layers.0.w' data_offsets [0, 100] hold 100 bytes, F32 [5, 6] needs 120",
                e.getMessage());
    }

    @Test
    void overlappingTensorsAreRejected() throws IOException {
        Path p = RawSafetensors.write(dir.resolve("overlap.safetensors"), """
                {"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},\
                "empty":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},\
                "b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}""", 20);
        assertRejected(p, "tensors 'a' [0, 16] and 'b' [12, 20] overlap");
    }

    @Test
    void aTruncatedFileIsRejected() throws IOException {
        Path p = RawSafetensors.write(dir.resolve("cut.safetensors"),
                "{\"w\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[0,16]}}", 10);
        assertRejected(p, "tensor 'w' has data_offsets [0, 16] beyond the end of the data (10 bytes)");
    }

    @Test
    void aFolderOrAMissingFileIsRejected() {
        assertRejected(dir, "is a folder");
        assertRejected(dir.resolve("nope.safetensors"), "no such file");
    }

    @Test
    void theMetadataIsReadInOrder() throws IOException {
        Path p = RawSafetensors.write(dir.resolve("meta.safetensors"),
                "{\"__metadata__\":{\"z\":\"1\",\"a\":\"2\",\"format\":\"pt\"}}", 0);
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertEquals(List.of("z", "a", "format"), List.copyOf(file.metadata().keySet()));
            assertEquals(Map.of("z", "1", "a", "2", "format", "pt"), file.metadata());
            assertTrue(file.names().isEmpty());
        }
    }

    private static void assertRejected(Path p, String message) {
        ThanosjException e = assertThrows(ThanosjException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString()), () -> "does not name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(message), () -> "expected '" + message + "' in: " + e.getMessage());
    }
}
