package dev.thanosj.model.safetensors;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thanosj.ThanosjException;
import dev.thanosj.io.AtomicOutput;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Writes safetensors files: the header ({@code __metadata__} first, then the tensors in the order given,
 * padded with spaces so the data starts at a multiple of 8 bytes, as the reference implementation does),
 * then each tensor's data, streamed through a {@link FileChannel} in bounded chunks. Float32 matrices are
 * rounded to their target dtype chunk by chunk; raw tensors are copied byte-identical. Every output is
 * written under a temporary name and renamed when complete ({@link AtomicOutput}).
 */
public final class SafetensorsWriter {
    /** Bytes converted or copied per channel write: large enough to stream, small enough to stay bounded. */
    private static final long CHUNK_BYTES = 4L << 20;

    /** File-name endings of weights in other formats, which a pruned copy of a model must not carry along. */
    private static final List<String> OTHER_WEIGHTS = List.of(".safetensors", ".bin", ".pt", ".pth", ".ckpt",
            ".h5", ".msgpack", ".gguf", ".onnx", ".onnx_data", ".tflite", ".ot", ".npz", ".pb", ".index.json");

    private SafetensorsWriter() {
    }

    /** One tensor to write: its name, dtype and shape in the header, and where its data comes from. */
    public sealed interface Tensor permits FromMatrix, Raw {
        /** The tensor's name in the header. */
        String name();

        /** The safetensors dtype name in the header, e.g. "BF16". */
        String dtypeName();

        /** The shape in the header (a copy). */
        long[] shape();

        /** Bytes the tensor's data takes in the file. */
        long byteSize();
    }

    /**
     * A float32 matrix written rounded to {@code dtype} (nearest, ties to even), row-major, with header shape
     * {@code shape} (its element count must be {@code rows * cols}; e.g. {@code [n]} for a {@code 1 x n}
     * vector). The matrix must stay valid until the write returns.
     */
    public record FromMatrix(String name, FloatMatrix matrix, DType dtype, long[] shape) implements Tensor {
        public FromMatrix {
            checkName(name);
            Objects.requireNonNull(matrix, "matrix");
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
            if (elements(name, shape) != matrix.size()) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                        + " does not hold the " + matrix.shape() + " matrix");
            }
        }

        /** A matrix written with shape {@code [rows, cols]}. */
        public FromMatrix(String name, FloatMatrix matrix, DType dtype) {
            this(name, matrix, dtype, new long[] {matrix.rows(), matrix.cols()});
        }

        @Override
        public String dtypeName() {
            return dtype.name();
        }

        /** A copy of the shape; the record stays unmodified. */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public long byteSize() {
            return matrix.size() * dtype.byteSize();
        }
    }

    /**
     * Bytes copied unchanged, with header dtype {@code dtypeName} (any safetensors dtype, e.g. "I64") and
     * shape {@code shape}; their size must be exactly what the dtype and shape need. The segment must stay
     * valid until the write returns.
     */
    public record Raw(String name, String dtypeName, long[] shape, MemorySegment bytes) implements Tensor {
        public Raw {
            checkName(name);
            Objects.requireNonNull(bytes, "bytes");
            shape = shape.clone();
            int bits = SafetensorsDTypes.bits(dtypeName);
            if (bits < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': unknown safetensors dtype '"
                        + dtypeName + "'");
            }
            long needed = SafetensorsDTypes.byteSize(elements(name, shape), bits);
            if (needed != bytes.byteSize()) {
                throw new IllegalArgumentException("tensor '" + name + "': " + bytes.byteSize() + " bytes, "
                        + dtypeName + " " + Arrays.toString(shape) + " needs " + needed);
            }
        }

        /** Tensor {@code name} of {@code file}, to be copied byte-identical (a view of the mapping, no copy). */
        public static Raw copyOf(SafetensorsFile file, String name) {
            TensorInfo t = file.info(name);
            return new Raw(name, t.dtypeName(), t.shape(), file.bytes(name));
        }

        /** A copy of the shape; the record stays unmodified. */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public long byteSize() {
            return bytes.byteSize();
        }
    }

    /**
     * What {@link #writeModel} wrote into {@code directory}: the safetensors files and index it wrote, the
     * other files it copied, and the entries of the source folder it left out (folders, hidden files and
     * weights in other formats, which would not be pruned).
     */
    public record WrittenModel(Path directory, List<String> written, List<String> copied, List<String> skipped) {
        public WrittenModel {
            written = List.copyOf(written);
            copied = List.copyOf(copied);
            skipped = List.copyOf(skipped);
        }
    }

    /**
     * Writes (creates or replaces) file {@code target} with {@code tensors}, in order, and {@code metadata}
     * (in its iteration order; omitted when empty).
     */
    public static void write(Path target, List<? extends Tensor> tensors, Map<String, String> metadata) {
        List<Entry> entries = tensors.stream().map(SafetensorsWriter::entry).toList();
        Map<String, String> meta = new LinkedHashMap<>();
        metadata.forEach((key, value) -> meta.put(Objects.requireNonNull(key), Objects.requireNonNull(value, key)));
        AtomicOutput.writeFile(target, temporary -> writeEntries(target.toString(), temporary, entries, meta));
    }

    /**
     * Writes (creates or replaces) folder {@code target} as a copy of {@code source}: the same shard files
     * with the same tensors in the same order, dtypes, shapes and {@code __metadata__}, the index copied
     * unchanged, and the other regular files of the source folder copied ({@code config.json},
     * {@code generation_config.json}, tokenizer files, ...). {@code replacement} is called once per tensor,
     * just before that tensor is written: a matrix (of the shape {@link SafetensorsFile#matrix} reads) is
     * written rounded to the tensor's dtype; null keeps the tensor's bytes identical. The source is unchanged.
     */
    public static WrittenModel writeModel(SafetensorsModel source, Path target,
            Function<String, FloatMatrix> replacement) {
        Objects.requireNonNull(replacement, "replacement");
        AtomicOutput.requireDistinct(source.directory(), target, "output folder");
        List<String> written = new ArrayList<>();
        for (SafetensorsFile shard : source.shards()) {
            written.add(shard.path().getFileName().toString());
        }
        source.index().ifPresent(index -> written.add(index.getFileName().toString()));
        List<Path> copies = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        try (Stream<Path> entries = Files.list(source.directory())) {
            for (Path p : entries.sorted().toList()) {
                String name = p.getFileName().toString();
                if (written.contains(name)) {
                    continue;
                }
                boolean otherWeights = OTHER_WEIGHTS.stream().anyMatch(name.toLowerCase(Locale.ROOT)::endsWith);
                if (name.startsWith(".") || !Files.isRegularFile(p) || otherWeights) {
                    skipped.add(name);
                } else {
                    copies.add(p);
                }
            }
        } catch (IOException e) {
            throw new ThanosjException(source.directory() + ": cannot list the folder: " + e.getMessage(), e);
        }
        AtomicOutput.writeDirectory(target, temporary -> {
            for (SafetensorsFile shard : source.shards()) {
                String name = shard.path().getFileName().toString();
                List<Entry> entries = shard.names().stream().map(t -> keepOrReplace(shard, t, replacement)).toList();
                writeEntries(target.resolve(name).toString(), temporary.resolve(name), entries, shard.metadata());
            }
            if (source.index().isPresent()) {
                Path index = source.index().get();
                Files.copy(index, temporary.resolve(index.getFileName().toString()));
            }
            for (Path p : copies) {
                Files.copy(p, temporary.resolve(p.getFileName().toString()));
            }
        });
        List<String> copied = copies.stream().map(p -> p.getFileName().toString()).toList();
        return new WrittenModel(target, written, copied, skipped);
    }

    /** A tensor's header entry and how to produce its {@code byteSize} bytes. */
    private record Entry(String name, String dtypeName, long[] shape, long byteSize, Payload payload) {
    }

    @FunctionalInterface
    private interface Payload {
        void writeTo(Sink sink) throws IOException;
    }

    private static Entry entry(Tensor tensor) {
        Payload payload = switch (tensor) {
            case FromMatrix m -> sink -> sink.convert(m.matrix(), m.dtype());
            case Raw r -> sink -> sink.copy(r.bytes());
        };
        return new Entry(tensor.name(), tensor.dtypeName(), tensor.shape(), tensor.byteSize(), payload);
    }

    private static Entry keepOrReplace(SafetensorsFile shard, String name, Function<String, FloatMatrix> replacement) {
        TensorInfo t = shard.info(name);
        return new Entry(name, t.dtypeName(), t.shape(), t.byteSize(), sink -> {
            FloatMatrix matrix = replacement.apply(name);
            if (matrix == null) {
                sink.copy(shard.bytes(name));
                return;
            }
            String where = shard.path() + ": tensor '" + name + "'";
            if (t.dtype() == null) {
                throw new IllegalArgumentException(where + " has dtype " + t.dtypeName()
                        + ", which cannot be replaced by a float32 matrix");
            }
            int[] shape = SafetensorsFile.matrixShape(shard.path().toString(), t);
            if (matrix.rows() != shape[0] || matrix.cols() != shape[1]) {
                throw new IllegalArgumentException(where + " " + t.shapeString() + " is read as "
                        + shape[0] + "x" + shape[1] + "; its replacement is " + matrix.shape());
            }
            sink.convert(matrix, t.dtype());
        });
    }

    /** Writes header and data of {@code entries} into {@code file}, naming {@code label} in errors. */
    private static void writeEntries(String label, Path file, List<Entry> entries, Map<String, String> metadata)
            throws IOException {
        byte[] header = header(label, entries, metadata);
        try (Arena arena = Arena.ofConfined();
                FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            Sink sink = new Sink(channel, arena.allocate(CHUNK_BYTES, FloatMatrix.ALIGNMENT));
            sink.write(ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(header.length).put(header).flip());
            for (Entry e : entries) {
                long start = channel.position();
                e.payload().writeTo(sink);
                if (channel.position() - start != e.byteSize()) {
                    throw new IllegalStateException("tensor '" + e.name() + "': wrote " + (channel.position() - start)
                            + " bytes, the header says " + e.byteSize());
                }
            }
            channel.force(true);
        }
    }

    /** The header JSON, padded with spaces to a multiple of 8 bytes. */
    private static byte[] header(String label, List<Entry> entries, Map<String, String> metadata) throws IOException {
        ObjectNode root = SafetensorsHeader.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (Entry e : entries) {
            if (!names.add(e.name())) {
                throw new IllegalArgumentException(label + ": tensor '" + e.name() + "' is given twice");
            }
            ObjectNode node = root.putObject(e.name());
            node.put("dtype", e.dtypeName());
            ArrayNode shape = node.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            long end = Math.addExact(offset, e.byteSize());
            node.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = SafetensorsHeader.JSON.writeValueAsBytes(root);
        int padded = (json.length + 7) / 8 * 8;
        if (padded > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new ThanosjException(label + ": header of " + padded + " bytes exceeds the limit of "
                    + SafetensorsHeader.MAX_HEADER_BYTES + " bytes that readers accept");
        }
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.equals(SafetensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("'" + name + "' is reserved for the metadata, not a tensor name");
        }
    }

    private static long elements(String name, long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in "
                        + Arrays.toString(shape));
            }
        }
        return SafetensorsDTypes.elements(shape);
    }

    /** The output channel and one chunk of off-heap memory for conversions and heap copies. */
    private record Sink(FileChannel channel, MemorySegment chunk) {
        void write(ByteBuffer buffer) throws IOException {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        }

        /** Writes {@code bytes} unchanged; off-heap memory directly, heap memory through the chunk. */
        void copy(MemorySegment bytes) throws IOException {
            for (long offset = 0; offset < bytes.byteSize(); offset += chunk.byteSize()) {
                long length = Math.min(chunk.byteSize(), bytes.byteSize() - offset);
                MemorySegment part = bytes.asSlice(offset, length);
                if (!part.isNative()) {
                    MemorySegment.copy(part, 0, chunk, 0, length);
                    part = chunk.asSlice(0, length);
                }
                write(part.asByteBuffer());
            }
        }

        /** Writes {@code matrix} row-major, rounded to {@code dtype}, one chunk at a time. */
        void convert(FloatMatrix matrix, DType dtype) throws IOException {
            if (matrix.size() == 0) {
                return;
            }
            long perChunk = chunk.byteSize() / dtype.byteSize();
            long filled = 0;
            for (int r = 0; r < matrix.rows(); r++) {
                MemorySegment row = matrix.row(r);
                for (int c = 0; c < matrix.cols(); c++) {
                    dtype.write(chunk, filled++, row.getAtIndex(ValueLayout.JAVA_FLOAT, c));
                    if (filled == perChunk) {
                        write(chunk.asByteBuffer());
                        filled = 0;
                    }
                }
            }
            if (filled > 0) {
                write(chunk.asSlice(0, filled * dtype.byteSize()).asByteBuffer());
            }
        }
    }
}
