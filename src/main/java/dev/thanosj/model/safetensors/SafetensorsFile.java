package dev.thanosj.model.safetensors;

import dev.thanosj.ThanosjException;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One safetensors file, memory-mapped read-only into an arena of its own. The header is validated when the
 * file is opened (see {@link SafetensorsHeader#parse}); afterwards every tensor named in it can be read
 * without further checks. Tensor views ({@link #bytes}) are valid until {@link #close()}; matrices from
 * {@link #matrix} are copies in the caller's arena. Safe to read from several threads.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final String label;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment content, SafetensorsHeader header) {
        this.path = path;
        this.label = path.toString();
        this.arena = arena;
        this.data = content.asSlice(header.dataStart());
        this.tensors = new LinkedHashMap<>();
        for (TensorInfo t : header.tensors()) {
            tensors.put(t.name(), t);
        }
        this.metadata = header.metadata();
    }

    /** Maps {@code path} read-only and validates its header; nothing is modified. */
    public static SafetensorsFile open(Path path) {
        if (Files.isDirectory(path)) {
            throw new ThanosjException(path + ": is a folder, not a safetensors file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment content = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new SafetensorsFile(path, arena, content, SafetensorsHeader.parse(path.toString(), content));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new ThanosjException(path + ": no such file", e);
        } catch (IOException e) {
            arena.close();
            throw new ThanosjException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Tensor names in the order their data appears in the file. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /** True when the file holds a tensor called {@code name}. */
    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** Dtype, shape and byte range of tensor {@code name}; throws a {@link ThanosjException} when absent. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw missing(label, name, tensors.keySet());
        }
        return t;
    }

    /** The stored bytes of tensor {@code name}, a read-only view of the mapping (no copy). */
    public MemorySegment bytes(String name) {
        TensorInfo t = info(name);
        return data.asSlice(t.begin(), t.byteSize());
    }

    /**
     * Tensor {@code name} converted to a new float32 matrix in {@code arena}: rank 2 {@code [rows, cols]}
     * as it is, rank 1 {@code [n]} as {@code 1 x n}. Throws a {@link ThanosjException} for other ranks and
     * for dtypes other than F32, BF16 and F16.
     */
    public FloatMatrix matrix(Arena arena, String name) {
        TensorInfo t = info(name);
        int[] shape = matrixShape(label, t);
        return FloatMatrix.fromStorage(arena, bytes(name), t.dtype(), shape[0], shape[1]);
    }

    /** The {@code __metadata__} strings of the header (empty when there are none); unmodifiable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Unmaps the file; views from {@link #bytes} become invalid. */
    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }

    /**
     * {@code {rows, cols}} of tensor {@code t} of {@code file} read as a float32 matrix (rank 1 is one row);
     * throws a {@link ThanosjException} naming the file and tensor when it cannot be read as one.
     */
    static int[] matrixShape(String file, TensorInfo t) {
        String where = file + ": tensor '" + t.name() + "'";
        if (t.dtype() == null) {
            throw new ThanosjException(where + " has dtype " + t.dtypeName()
                    + "; only F32, BF16 and F16 tensors can be read as float32");
        }
        long[] shape = t.shape();
        long rows;
        long cols;
        switch (shape.length) {
            case 1 -> {
                rows = 1;
                cols = shape[0];
            }
            case 2 -> {
                rows = shape[0];
                cols = shape[1];
            }
            default -> throw new ThanosjException(where + " has rank " + shape.length + " " + t.shapeString()
                    + "; expected a matrix (rank 2) or a vector (rank 1)");
        }
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            throw new ThanosjException(where + " " + t.shapeString() + " has more than "
                    + Integer.MAX_VALUE + " rows or columns");
        }
        return new int[] {(int) rows, (int) cols};
    }

    /** "FILE: no tensor 'x' (has: a, b, ...)", listing at most a few of {@code names}. */
    static ThanosjException missing(String where, String name, Collection<String> names) {
        final int shown = 8;
        String list = names.isEmpty() ? "it has no tensors"
                : "has: " + names.stream().limit(shown).collect(Collectors.joining(", "))
                        + (names.size() > shown ? ", … (" + names.size() + " tensors)" : "");
        return new ThanosjException(where + ": no tensor '" + name + "' (" + list + ")");
    }
}
