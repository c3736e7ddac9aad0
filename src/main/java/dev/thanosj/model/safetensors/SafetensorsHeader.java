package dev.thanosj.model.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.thanosj.ThanosjException;
import dev.thanosj.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The validated header of a safetensors file: {@code u64} little-endian length {@code N}, then {@code N}
 * bytes of UTF-8 JSON, then the data section. {@link #parse} checks everything the header claims against
 * the file before any of it is used; see the checks listed there.
 *
 * @param dataStart byte offset of the data section in the file, {@code 8 + N}
 * @param tensors   the tensors in the order their data appears in the file (header order among ties)
 * @param metadata  the {@code __metadata__} string map, empty when absent
 */
record SafetensorsHeader(long dataStart, List<TensorInfo> tensors, Map<String, String> metadata) {
    /** The largest header accepted, as in the reference implementation (which allows 100 MB). */
    static final long MAX_HEADER_BYTES = 100L << 20;
    static final String METADATA_KEY = "__metadata__";

    /** Duplicate keys would make a tensor ambiguous; anything after the JSON object is an error. */
    static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    SafetensorsHeader {
        tensors = List.copyOf(tensors);
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /**
     * Parses and validates the header of {@code content} (the whole file), naming {@code file} in every
     * error: the file holds at least 8 bytes; {@code 2 <= N <= min(100 MiB, size - 8)}; the header is UTF-8
     * JSON, one object without duplicate keys; each tensor entry has a known {@code dtype}, a {@code shape}
     * of non-negative integers and {@code data_offsets [begin, end]} inside the data section whose length is
     * exactly {@code product(shape) x dtype size}; no two tensors overlap; {@code __metadata__} maps strings
     * to strings.
     */
    static SafetensorsHeader parse(String file, MemorySegment content) {
        long size = content.byteSize();
        if (size < 8) {
            throw new ThanosjException(file + ": " + size + " bytes is too short for a safetensors file "
                    + "(it starts with an 8-byte header length)");
        }
        long n = content.get(LE_LONG, 0);
        if (Long.compareUnsigned(n, MAX_HEADER_BYTES) > 0) {
            throw new ThanosjException(file + ": header length " + Long.toUnsignedString(n)
                    + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes; not a safetensors file, or corrupt");
        }
        if (n > size - 8) {
            throw new ThanosjException(file + ": header length " + n + " is larger than the " + (size - 8)
                    + " bytes that follow it; the file is truncated or not a safetensors file");
        }
        if (n < 2) {
            throw new ThanosjException(file + ": header length " + n + " is too short for a JSON object");
        }
        JsonNode root = readJson(file, content.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE));
        long dataSize = size - 8 - n;

        List<TensorInfo> tensors = new ArrayList<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            if (entry.getKey().equals(METADATA_KEY)) {
                metadata = stringMap(file + ": " + METADATA_KEY, entry.getValue());
            } else {
                tensors.add(tensor(file, entry.getKey(), entry.getValue(), dataSize));
            }
        }
        tensors.sort(Comparator.comparingLong(TensorInfo::begin));
        checkNoOverlap(file, tensors);
        return new SafetensorsHeader(8 + n, tensors, metadata);
    }

    private static JsonNode readJson(String file, byte[] bytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ThanosjException(file + ": header is not valid UTF-8; not a safetensors file, or corrupt", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JacksonException e) {
            throw new ThanosjException(file + ": header is not valid JSON (" + e.getOriginalMessage()
                    + "); not a safetensors file, or corrupt", e);
        }
        if (root == null || !root.isObject()) {
            throw new ThanosjException(file + ": header is not a JSON object; not a safetensors file, or corrupt");
        }
        return root;
    }

    /** Reads a JSON object of strings (null reads as empty), naming {@code what} in errors. */
    static Map<String, String> stringMap(String what, JsonNode node) {
        if (node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new ThanosjException(what + " is not a JSON object of strings");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new ThanosjException(what + ": the value of '" + e.getKey() + "' is not a string");
            }
            map.put(e.getKey(), e.getValue().textValue());
        }
        return map;
    }

    private static TensorInfo tensor(String file, String name, JsonNode node, long dataSize) {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new ThanosjException(where + " is not a JSON object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new ThanosjException(where + " has no \"dtype\" string");
        }
        String dtypeName = dtypeNode.textValue();
        int bits = SafetensorsDTypes.bits(dtypeName);
        if (bits < 0) {
            throw new ThanosjException(where + " has unknown dtype '" + dtypeName + "'");
        }
        long[] shape = longs(where, "shape", node.get("shape"), -1);
        long[] offsets = longs(where, "data_offsets", node.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) {
            throw new ThanosjException(where + " has " + range + " that end before they begin");
        }
        if (end > dataSize) {
            throw new ThanosjException(where + " has " + range + " beyond the end of the data ("
                    + dataSize + " bytes); the file is truncated or its header is wrong");
        }
        String typeAndShape = dtypeName + " " + Arrays.toString(shape);
        long needed;
        try {
            needed = SafetensorsDTypes.byteSize(SafetensorsDTypes.elements(shape), bits);
        } catch (ArithmeticException e) {
            throw new ThanosjException(where + " is " + typeAndShape + ", whose size overflows 64 bits", e);
        }
        if (needed < 0) {
            throw new ThanosjException(where + " is " + typeAndShape + ", which does not fill whole bytes");
        }
        if (end - begin != needed) {
            throw new ThanosjException(where + " " + range + " hold " + (end - begin) + " bytes, "
                    + typeAndShape + " needs " + needed);
        }
        return new TensorInfo(name, dtypeName, DType.parse(dtypeName), shape, begin, end);
    }

    /** Reads an array of non-negative integers of length {@code length} (any length when negative). */
    private static long[] longs(String where, String field, JsonNode node, int length) {
        String expected = "an array of " + (length < 0 ? "" : length + " ") + "non-negative integers";
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new ThanosjException(where + " has no \"" + field + "\" that is " + expected);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new ThanosjException(where + " has \"" + field + "\" " + node + ", which is not " + expected);
            }
            values[i] = v.longValue();
        }
        return values;
    }

    /** {@code tensors} is sorted by begin; empty tensors hold no bytes and overlap nothing. */
    private static void checkNoOverlap(String file, List<TensorInfo> tensors) {
        TensorInfo previous = null;
        for (TensorInfo t : tensors) {
            if (t.byteSize() == 0) {
                continue;
            }
            if (previous != null && t.begin() < previous.end()) {
                throw new ThanosjException(file + ": tensors '" + previous.name() + "' [" + previous.begin() + ", "
                        + previous.end() + "] and '" + t.name() + "' [" + t.begin() + ", " + t.end() + "] overlap");
            }
            previous = t;
        }
    }
}
