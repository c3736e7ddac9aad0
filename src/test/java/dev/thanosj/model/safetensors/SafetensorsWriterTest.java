package dev.thanosj.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.model.safetensors.SafetensorsWriter.FromMatrix;
import dev.thanosj.model.safetensors.SafetensorsWriter.Raw;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** A matrix of random values spanning several magnitudes, with ±0, a subnormal and a huge value. */
    private FloatMatrix random(int rows, int cols, long seed) {
        Random random = new Random(seed);
        FloatMatrix m = FloatMatrix.allocate(arena, rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                m.set(r, c, (float) (random.nextGaussian() * Math.pow(10, random.nextInt(7) - 3)));
            }
        }
        float[] specials = {0f, -0f, Float.MIN_VALUE * 3, 6.0e4f};
        for (int i = 0; i < specials.length && i < m.size(); i++) {
            m.set(i / cols, i % cols, specials[i]);
        }
        return m;
    }

    /** What {@code value} becomes once stored as {@code dtype} and read back. */
    private static float rounded(float value, DType dtype) {
        MemorySegment one = MemorySegment.ofArray(new byte[4]);
        dtype.write(one, 0, value);
        return dtype.read(one, 0);
    }

    private static void assertRounded(FloatMatrix original, DType dtype, FloatMatrix read) {
        assertEquals(original.rows(), read.rows());
        assertEquals(original.cols(), read.cols());
        for (int r = 0; r < original.rows(); r++) {
            for (int c = 0; c < original.cols(); c++) {
                float want = rounded(original.get(r, c), dtype);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(read.get(r, c)),
                        "(" + r + ", " + c + ") " + dtype);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void matricesAndVectorsRoundTrip(DType dtype) throws IOException {
        FloatMatrix w = random(7, 13, 1);
        FloatMatrix v = random(1, 31, 2);
        FloatMatrix wide = random(3, 40, 3).columns(5, 22); // a strided view
        Path p = dir.resolve("out.safetensors");
        SafetensorsWriter.write(p, List.of(
                new FromMatrix("w", w, dtype),
                new FromMatrix("bias", v, dtype, new long[] {31}),
                new FromMatrix("view", wide, dtype)), Map.of());
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertEquals(List.of("w", "bias", "view"), file.names());
            assertEquals(dtype, file.info("w").dtype());
            assertEquals(dtype.name(), file.info("bias").dtypeName());
            assertArrayEquals(new long[] {7, 13}, file.info("w").shape());
            assertArrayEquals(new long[] {31}, file.info("bias").shape());
            assertArrayEquals(new long[] {3, 17}, file.info("view").shape());
            assertTrue(file.metadata().isEmpty());
            assertRounded(w, dtype, file.matrix(arena, "w"));
            assertRounded(v, dtype, file.matrix(arena, "bias"));
            assertRounded(wide, dtype, file.matrix(arena, "view"));
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void matricesLargerThanOneChunkRoundTrip(DType dtype) throws IOException {
        FloatMatrix w = random(1031, 1100, 4); // 4.5 MB as F32, 2.3 MB as 16-bit: over and under one chunk
        FloatMatrix big = random(2053, 1100, 5); // 4.5 MB as 16-bit
        Path p = dir.resolve("big.safetensors");
        SafetensorsWriter.write(p, List.of(new FromMatrix("w", w, dtype), new FromMatrix("big", big, dtype)), Map.of());
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertRounded(w, dtype, file.matrix(arena, "w"));
            assertRounded(big, dtype, file.matrix(arena, "big"));
        }
    }

    @Test
    void emptyTensorsAndMetadataRoundTrip() throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("report", "{\"sparsity\": 0.5, \"name\": \"ünïcode ✓\"}");
        metadata.put("format", "pt");
        Path p = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(p, List.of(
                new FromMatrix("none", FloatMatrix.allocate(arena, 0, 5), DType.BF16),
                new FromMatrix("rows", FloatMatrix.allocate(arena, 3, 0), DType.F32),
                new FromMatrix("vector", FloatMatrix.allocate(arena, 1, 0), DType.F16, new long[] {0}),
                new FromMatrix("one", random(1, 1, 6), DType.F32)), metadata);
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertEquals(List.of("none", "rows", "vector", "one"), file.names());
            assertEquals(metadata, file.metadata());
            assertEquals(List.copyOf(metadata.keySet()), List.copyOf(file.metadata().keySet()));
            assertArrayEquals(new long[] {0, 5}, file.info("none").shape());
            assertArrayEquals(new long[] {3, 0}, file.info("rows").shape());
            assertArrayEquals(new long[] {0}, file.info("vector").shape());
            assertEquals(0, file.bytes("none").byteSize());
            FloatMatrix rows = file.matrix(arena, "rows");
            assertEquals(3, rows.rows());
            assertEquals(0, rows.cols());
            assertEquals(4, file.bytes("one").byteSize());
        }
    }

    @Test
    void unknownDtypesAreCopiedByteIdentical() throws IOException {
        Random random = new Random(7);
        byte[] ids = new byte[3 * 8];
        byte[] mask = new byte[11];
        byte[] doubles = new byte[2 * 2 * 8];
        random.nextBytes(ids);
        random.nextBytes(mask);
        random.nextBytes(doubles);
        Path first = dir.resolve("first.safetensors");
        SafetensorsWriter.write(first, List.of(
                new Raw("ids", "I64", new long[] {3}, MemorySegment.ofArray(ids)),
                new Raw("mask", "U8", new long[] {11}, MemorySegment.ofArray(mask)),
                new Raw("scale", "F64", new long[] {2, 2}, MemorySegment.ofArray(doubles)),
                new Raw("flag", "BOOL", new long[] {}, MemorySegment.ofArray(new byte[] {1}))),
                Map.of("k", "v"));
        Path second = dir.resolve("second.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(first)) {
            assertArrayEquals(ids, file.bytes("ids").toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(mask, file.bytes("mask").toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(doubles, file.bytes("scale").toArray(ValueLayout.JAVA_BYTE));
            assertEquals("F64", file.info("scale").dtypeName());
            SafetensorsWriter.write(second, file.names().stream().map(name -> Raw.copyOf(file, name)).toList(),
                    file.metadata());
        }
        assertEquals(-1, Files.mismatch(first, second));
    }

    @Test
    void theOutputMatchesTheReferenceImplementationByteForByte() throws IOException {
        // safetensors (Rust) tensor.rs test_serialization: "attn.0" F32 [1, 2, 3] holding 0..5
        ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            data.putFloat(i);
        }
        Path p = dir.resolve("attn.safetensors");
        SafetensorsWriter.write(p, List.of(new Raw("attn.0", "F32", new long[] {1, 2, 3},
                MemorySegment.ofArray(data.array()))), Map.of());
        String json = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        ByteBuffer expected = ByteBuffer.allocate(8 + 64 + 24).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(64).put(json.getBytes(StandardCharsets.US_ASCII)).put(new byte[64 - json.length()])
                .put(data.array());
        assertArrayEquals(expected.array(), Files.readAllBytes(p));

        // test_empty with metadata {"framework": "pt"}: the header padded with spaces to 40 bytes
        Path meta = dir.resolve("meta.safetensors");
        SafetensorsWriter.write(meta, List.of(), Map.of("framework", "pt"));
        byte[] bytes = Files.readAllBytes(meta);
        assertEquals(48, bytes.length);
        assertEquals(40, bytes[0]);
        assertEquals("{\"__metadata__\":{\"framework\":\"pt\"}}     ",
                new String(bytes, 8, 40, StandardCharsets.UTF_8));
    }

    @Test
    void theHeaderIsPaddedWithSpacesToAMultipleOfEight() throws IOException {
        for (int length = 1; length <= 9; length++) {
            Path p = dir.resolve("pad" + length + ".safetensors");
            SafetensorsWriter.write(p, List.of(new FromMatrix("x".repeat(length), random(1, 3, length), DType.F32)),
                    Map.of());
            byte[] bytes = Files.readAllBytes(p);
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(0, n % 8);
            assertEquals(8 + n + 12, bytes.length);
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(header.stripTrailing().endsWith("}"));
            assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(ch -> ch == ' '));
        }
    }

    @Test
    void aFailedWriteLeavesNothingBehind() throws IOException {
        Path p = dir.resolve("out.safetensors");
        FloatMatrix freed;
        try (Arena local = Arena.ofConfined()) {
            freed = FloatMatrix.allocate(local, 2, 2);
        }
        List<FromMatrix> tensors = List.of(new FromMatrix("ok", random(30, 30, 8), DType.F32),
                new FromMatrix("freed", freed, DType.F32));
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(p, tensors, Map.of()));
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void anExistingFileIsReplacedWhole() throws IOException {
        Path p = dir.resolve("out.safetensors");
        Files.writeString(p, "x".repeat(10_000));
        try (Arena local = Arena.ofConfined()) {
            SafetensorsWriter.write(p, List.of(new FromMatrix("w", FloatMatrix.allocate(local, 2, 2), DType.BF16)),
                    Map.of());
        }
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertEquals(List.of("w"), file.names());
            assertEquals(8, file.bytes("w").byteSize());
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(p), left.toList());
        }
    }

    @Test
    void invalidTensorsAreRejectedBeforeWriting() {
        FloatMatrix m = random(2, 3, 9);
        MemorySegment eight = MemorySegment.ofArray(new byte[8]);
        assertThrows(IllegalArgumentException.class, () -> new FromMatrix("w", m, DType.F32, new long[] {5}));
        assertThrows(IllegalArgumentException.class, () -> new FromMatrix("w", m, DType.F32, new long[] {-2, -3}));
        assertThrows(IllegalArgumentException.class, () -> new FromMatrix("__metadata__", m, DType.F32));
        assertThrows(IllegalArgumentException.class, () -> new Raw("r", "I64", new long[] {2}, eight));
        assertThrows(IllegalArgumentException.class, () -> new Raw("r", "Q4", new long[] {8}, eight));
        Path p = dir.resolve("dup.safetensors");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(p,
                List.of(new FromMatrix("w", m, DType.F32), new Raw("w", "U8", new long[] {8}, eight)), Map.of()));
        assertTrue(e.getMessage().contains("tensor 'w' is given twice"), e.getMessage());
        assertFalse(Files.exists(p));
    }
}
