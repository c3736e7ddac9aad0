package dev.thanosj.model.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.thanosj.ThanosjException;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The weights of a Hugging Face model folder as one view: either a single {@value #SINGLE_FILE}, or shards
 * listed by {@value #INDEX_FILE} ({@code {"metadata": {...}, "weight_map": {tensor: shard}}}). The single
 * file wins when both exist, as in {@code transformers}. When opened, every shard is mapped and validated
 * and the index and the shards must agree exactly: every shard named exists, every tensor listed is in its
 * shard, and every tensor of a shard is listed. {@link #close()} unmaps all shards.
 */
public final class SafetensorsModel implements AutoCloseable {
    /** The file name of a single-file checkpoint. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** The file name of the index of a sharded checkpoint. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path directory;
    private final Path index;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> shardOf;

    private SafetensorsModel(Path directory, Path index, List<SafetensorsFile> shards,
            Map<String, SafetensorsFile> shardOf) {
        this.directory = directory;
        this.index = index;
        this.shards = List.copyOf(shards);
        this.shardOf = shardOf;
    }

    /** Opens the weights of model folder {@code directory}, mapping and validating every shard; nothing is modified. */
    public static SafetensorsModel open(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new ThanosjException(directory + ": no such folder");
        }
        Path single = directory.resolve(SINGLE_FILE);
        if (Files.exists(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> shardOf = new LinkedHashMap<>();
            for (String name : file.names()) {
                shardOf.put(name, file);
            }
            return new SafetensorsModel(directory, null, List.of(file), shardOf);
        }
        Path index = directory.resolve(INDEX_FILE);
        if (!Files.exists(index)) {
            throw new ThanosjException(directory + ": has neither " + SINGLE_FILE + " nor " + INDEX_FILE
                    + "; not a safetensors model folder");
        }
        return openSharded(directory, index);
    }

    private static SafetensorsModel openSharded(Path directory, Path index) {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, String> firstTensorOfShard = new LinkedHashMap<>();
        weightMap.forEach((tensor, shard) -> firstTensorOfShard.putIfAbsent(shard, tensor));
        for (Map.Entry<String, String> e : firstTensorOfShard.entrySet()) {
            String shard = e.getKey();
            String where = index + ": tensor '" + e.getValue() + "' is mapped to shard '" + shard + "'";
            boolean plainName = !shard.isEmpty() && !shard.equals(".") && !shard.equals("..")
                    && !shard.contains("/") && !shard.contains("\\");
            if (!plainName) {
                throw new ThanosjException(where + ", which is not the name of a file in the model folder");
            }
            if (!Files.isRegularFile(directory.resolve(shard))) {
                throw new ThanosjException(where + ", which does not exist in " + directory);
            }
        }
        List<SafetensorsFile> shards = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new TreeMap<>();
            for (String shard : new TreeSet<>(firstTensorOfShard.keySet())) {
                SafetensorsFile file = SafetensorsFile.open(directory.resolve(shard));
                shards.add(file);
                byName.put(shard, file);
            }
            Map<String, SafetensorsFile> shardOf = new LinkedHashMap<>();
            weightMap.forEach((tensor, shard) -> {
                SafetensorsFile file = byName.get(shard);
                if (!file.has(tensor)) {
                    throw new ThanosjException(index + ": tensor '" + tensor + "' is mapped to shard '" + shard
                            + "', which does not hold it");
                }
                shardOf.put(tensor, file);
            });
            byName.forEach((shard, file) -> {
                for (String tensor : file.names()) {
                    if (!shard.equals(weightMap.get(tensor))) {
                        throw new ThanosjException(index + ": tensor '" + tensor + "' of shard '" + shard
                                + "' is missing from the index" + (weightMap.containsKey(tensor)
                                        ? " (it maps the tensor to '" + weightMap.get(tensor) + "')" : ""));
                    }
                }
            });
            return new SafetensorsModel(directory, index, shards, shardOf);
        } catch (RuntimeException e) {
            shards.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, String> readWeightMap(Path index) {
        JsonNode root;
        try {
            root = SafetensorsHeader.JSON.readTree(Files.readString(index));
        } catch (JacksonException e) {
            throw new ThanosjException(index + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ThanosjException(index + ": cannot read: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject() || !root.has("weight_map")) {
            throw new ThanosjException(index + ": has no \"weight_map\" object");
        }
        Map<String, String> weightMap = SafetensorsHeader.stringMap(index + ": weight_map", root.get("weight_map"));
        if (weightMap.isEmpty()) {
            throw new ThanosjException(index + ": the weight_map lists no tensors");
        }
        return weightMap;
    }

    /** The model folder. */
    public Path directory() {
        return directory;
    }

    /** The index file of a sharded model; empty for a single file. */
    public Optional<Path> index() {
        return Optional.ofNullable(index);
    }

    /** The open shard files, sorted by file name (one file when not sharded). */
    public List<SafetensorsFile> shards() {
        return shards;
    }

    /** All tensor names: the index's order when sharded, the file's order otherwise. */
    public List<String> names() {
        return List.copyOf(shardOf.keySet());
    }

    /** True when the model has a tensor called {@code name}. */
    public boolean has(String name) {
        return shardOf.containsKey(name);
    }

    /** The shard that holds tensor {@code name}; throws a {@link ThanosjException} when absent. */
    public SafetensorsFile shardOf(String name) {
        SafetensorsFile file = shardOf.get(name);
        if (file == null) {
            throw SafetensorsFile.missing(index != null ? index.toString() : shards.getFirst().path().toString(),
                    name, shardOf.keySet());
        }
        return file;
    }

    /** Dtype, shape and byte range (within its shard) of tensor {@code name}. */
    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    /** The stored bytes of tensor {@code name}, a read-only view of its shard's mapping (no copy). */
    public MemorySegment bytes(String name) {
        return shardOf(name).bytes(name);
    }

    /** Tensor {@code name} converted to a new float32 matrix in {@code arena}, as {@link SafetensorsFile#matrix}. */
    public FloatMatrix matrix(Arena arena, String name) {
        return shardOf(name).matrix(arena, name);
    }

    /** Unmaps every shard; views from {@link #bytes} become invalid. */
    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }

    @Override
    public String toString() {
        return "SafetensorsModel[" + directory + ", " + shards.size() + " shard(s), " + shardOf.size() + " tensors]";
    }
}
