package dev.thanosj.model.onnx;

import dev.thanosj.ThanosjException;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An ONNX model file, memory-mapped read-only into an arena this object owns, with the parts of its
 * {@code ModelProto} this library needs parsed by a bounded, validated protobuf reader of our own: the
 * graph's nodes (op type, name, inputs, outputs, simple attributes), initializers (name, type, shape and the
 * location of their bytes in the file) and graph inputs/outputs. Tensor values are never copied at open:
 * {@link #data} returns a slice of the mapping. {@link #close()} unmaps the file; every segment obtained
 * from it becomes unusable.
 */
public final class OnnxModel implements AutoCloseable {
    /** MatMul nodes of a transformer block: {@code .../layer.N/<module path>/MatMul}. */
    private static final Pattern LINEAR_NODE = Pattern.compile(".*/layer\\.(\\d+)/(.+)/MatMul");
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final long irVersion;
    private final long opsetVersion;
    private final String producer;
    private final List<OnnxNode> nodes = new ArrayList<>();
    private final Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
    private final List<OnnxValueInfo> inputs = new ArrayList<>();
    private final List<OnnxValueInfo> outputs = new ArrayList<>();
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();
    private final List<OnnxLinear> linears;

    private OnnxModel(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        long ir = 0;
        long opset = 0;
        String producerName = "";
        long graphStart = -1;
        long graphEnd = -1;
        ProtoReader model = new ProtoReader(file, 0, file.byteSize());
        while (model.hasMore()) {
            int field = model.readField();
            switch (field) {
                case 1 -> {
                    model.expect(ProtoReader.VARINT, "ir_version");
                    ir = model.readVarint();
                }
                case 2 -> {
                    model.expect(ProtoReader.LENGTH_DELIMITED, "producer_name");
                    producerName = model.readString();
                }
                case 7 -> {
                    model.expect(ProtoReader.LENGTH_DELIMITED, "graph");
                    graphStart = model.readLengthDelimited();
                    graphEnd = model.position();
                }
                case 8 -> {
                    model.expect(ProtoReader.LENGTH_DELIMITED, "opset_import");
                    long version = defaultDomainVersion(model.readMessage());
                    if (version >= 0) {
                        opset = version;
                    }
                }
                default -> model.skip();
            }
        }
        if (ir < 1 || ir > 100) {
            throw new MalformedProtoException(ir == 0 ? "no ir_version" : "implausible ir_version " + ir);
        }
        if (graphStart < 0) {
            throw new MalformedProtoException("no graph");
        }
        this.irVersion = ir;
        this.opsetVersion = opset;
        this.producer = producerName;
        readGraph(new ProtoReader(file, graphStart, graphEnd));
        for (OnnxNode node : nodes) {
            for (String out : node.outputs()) {
                producers.putIfAbsent(out, node);
            }
            for (String in : node.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(node);
                }
            }
        }
        this.linears = List.copyOf(findLinears());
    }

    /**
     * Maps and parses {@code file}.
     *
     * @throws ThanosjException naming the file when it cannot be read or is not an ONNX model
     */
    public static OnnxModel open(Path file) {
        if (Files.isDirectory(file)) {
            throw new ThanosjException(file + " is a directory, not an ONNX model file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new OnnxModel(file, arena, mapping);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new ThanosjException("model file " + file + " does not exist", e);
        } catch (IOException e) {
            arena.close();
            throw new ThanosjException("cannot read model file " + file + ": " + e.getMessage(), e);
        } catch (MalformedProtoException | ArithmeticException e) {
            arena.close();
            throw new ThanosjException(file + " is not an ONNX model: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The version of an {@code OperatorSetIdProto} for the default domain, or -1 for another domain. */
    private static long defaultDomainVersion(ProtoReader r) {
        String domain = "";
        long version = 0;
        while (r.hasMore()) {
            int field = r.readField();
            if (field == 1 && r.wireType() == ProtoReader.LENGTH_DELIMITED) {
                domain = r.readString();
            } else if (field == 2 && r.wireType() == ProtoReader.VARINT) {
                version = r.readVarint();
            } else {
                r.skip();
            }
        }
        return domain.isEmpty() || domain.equals("ai.onnx") ? version : -1;
    }

    private void readGraph(ProtoReader g) {
        while (g.hasMore()) {
            int field = g.readField();
            switch (field) {
                case 1 -> {
                    g.expect(ProtoReader.LENGTH_DELIMITED, "graph.node");
                    nodes.add(readNode(g.readMessage()));
                }
                case 5 -> {
                    g.expect(ProtoReader.LENGTH_DELIMITED, "graph.initializer");
                    OnnxTensor t = readTensor(g.readMessage());
                    if (t.name().isEmpty()) {
                        throw new MalformedProtoException("an initializer has no name");
                    }
                    if (initializers.putIfAbsent(t.name(), t) != null) {
                        throw new MalformedProtoException("two initializers are called " + t.name());
                    }
                }
                case 11 -> {
                    g.expect(ProtoReader.LENGTH_DELIMITED, "graph.input");
                    inputs.add(readValueInfo(g.readMessage()));
                }
                case 12 -> {
                    g.expect(ProtoReader.LENGTH_DELIMITED, "graph.output");
                    outputs.add(readValueInfo(g.readMessage()));
                }
                default -> g.skip();
            }
        }
    }

    private static OnnxNode readNode(ProtoReader r) {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        List<OnnxAttribute> attributes = new ArrayList<>();
        String name = "";
        String opType = "";
        String domain = "";
        while (r.hasMore()) {
            int field = r.readField();
            switch (field) {
                case 1, 2, 3, 4, 7 -> {
                    r.expect(ProtoReader.LENGTH_DELIMITED, "node field " + field);
                    String s = r.readString();
                    switch (field) {
                        case 1 -> in.add(s);
                        case 2 -> out.add(s);
                        case 3 -> name = s;
                        case 4 -> opType = s;
                        default -> domain = s;
                    }
                }
                case 5 -> {
                    r.expect(ProtoReader.LENGTH_DELIMITED, "node.attribute");
                    attributes.add(readAttribute(r.readMessage()));
                }
                default -> r.skip();
            }
        }
        if (opType.isEmpty()) {
            throw new MalformedProtoException("node '" + name + "' has no op_type");
        }
        return new OnnxNode(name, opType, domain, in, out, attributes);
    }

    private static OnnxAttribute readAttribute(ProtoReader r) {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        OnnxTensor tensor = null;
        List<Float> floats = new ArrayList<>();
        List<Long> ints = new ArrayList<>();
        while (r.hasMore()) {
            int field = r.readField();
            int wire = r.wireType();
            if (field == 1 && wire == ProtoReader.LENGTH_DELIMITED) {
                name = r.readString();
            } else if (field == 20 && wire == ProtoReader.VARINT) {
                type = r.readInt32("attribute type");
            } else if (field == 2 && wire == ProtoReader.FIXED32) {
                f = Float.intBitsToFloat(r.readFixed32());
            } else if (field == 3 && wire == ProtoReader.VARINT) {
                i = r.readVarint();
            } else if (field == 5 && wire == ProtoReader.LENGTH_DELIMITED) {
                tensor = readTensor(r.readMessage());
            } else if (field == 7 && wire == ProtoReader.FIXED32) {
                floats.add(Float.intBitsToFloat(r.readFixed32()));
            } else if (field == 7 && wire == ProtoReader.LENGTH_DELIMITED) {
                ProtoReader packed = r.readMessage();
                while (packed.hasMore()) {
                    floats.add(Float.intBitsToFloat(packed.readFixed32()));
                }
            } else if (field == 8 && wire == ProtoReader.VARINT) {
                ints.add(r.readVarint());
            } else if (field == 8 && wire == ProtoReader.LENGTH_DELIMITED) {
                ProtoReader packed = r.readMessage();
                while (packed.hasMore()) {
                    ints.add(packed.readVarint());
                }
            } else {
                r.skip();
            }
        }
        return new OnnxAttribute(name, type, f, i, tensor, floats, ints);
    }

    private static OnnxTensor readTensor(ProtoReader r) {
        String name = "";
        int dataType = 0;
        List<Long> dims = new ArrayList<>();
        OnnxTensor.Location location = OnnxTensor.Location.NONE;
        long offset = -1;
        long length = 0;
        boolean external = false;
        while (r.hasMore()) {
            int field = r.readField();
            int wire = r.wireType();
            switch (field) {
                case 1 -> {
                    if (wire == ProtoReader.VARINT) {
                        dims.add(r.readVarint());
                    } else {
                        r.expect(ProtoReader.LENGTH_DELIMITED, "tensor.dims");
                        ProtoReader packed = r.readMessage();
                        while (packed.hasMore()) {
                            dims.add(packed.readVarint());
                        }
                    }
                }
                case 2 -> {
                    r.expect(ProtoReader.VARINT, "tensor.data_type");
                    dataType = r.readInt32("data_type");
                }
                case 3 -> throw new MalformedProtoException("tensor uses 'segment' (segmented tensors are not supported)");
                case 8 -> {
                    r.expect(ProtoReader.LENGTH_DELIMITED, "tensor.name");
                    name = r.readString();
                }
                case 9 -> {
                    r.expect(ProtoReader.LENGTH_DELIMITED, "tensor.raw_data");
                    offset = r.readLengthDelimited();
                    length = r.position() - offset;
                    location = OnnxTensor.Location.RAW_DATA;
                }
                case 4 -> {
                    if (wire == ProtoReader.LENGTH_DELIMITED && location == OnnxTensor.Location.NONE) {
                        offset = r.readLengthDelimited();
                        length = r.position() - offset;
                        location = OnnxTensor.Location.FLOAT_DATA;
                    } else {
                        r.skip();
                        location = OnnxTensor.Location.TYPED_FIELD;
                    }
                }
                case 5, 6, 7, 10, 11 -> {
                    r.skip();
                    if (location == OnnxTensor.Location.NONE) {
                        location = OnnxTensor.Location.TYPED_FIELD;
                    }
                }
                case 14 -> {
                    r.expect(ProtoReader.VARINT, "tensor.data_location");
                    external = r.readVarint() == 1;
                }
                default -> r.skip();
            }
        }
        for (long d : dims) {
            if (d < 0) {
                throw new MalformedProtoException("tensor '" + name + "' has a negative dimension " + d);
            }
        }
        if (external) {
            return new OnnxTensor(name, dataType, dims, OnnxTensor.Location.EXTERNAL, -1, 0);
        }
        if (location == OnnxTensor.Location.TYPED_FIELD) {
            return new OnnxTensor(name, dataType, dims, location, -1, 0);
        }
        OnnxTensor tensor = new OnnxTensor(name, dataType, dims, location, offset, length);
        int size = OnnxTensor.elementSize(dataType);
        if (location == OnnxTensor.Location.FLOAT_DATA && dataType != OnnxTensor.FLOAT) {
            throw new MalformedProtoException("tensor '" + name + "' of type " + OnnxTensor.typeName(dataType) + " has float_data");
        }
        if (tensor.hasBytes() && size > 0) {
            long expected = Math.multiplyExact(tensor.elementCount(), size);
            if (expected != length) {
                throw new MalformedProtoException("tensor '" + name + "' " + tensor.shape() + " " + OnnxTensor.typeName(dataType)
                        + " needs " + expected + " bytes but holds " + length);
            }
        }
        return tensor;
    }

    private static OnnxValueInfo readValueInfo(ProtoReader r) {
        String name = "";
        int elementType = 0;
        List<String> dims = new ArrayList<>();
        while (r.hasMore()) {
            int field = r.readField();
            if (field == 1 && r.wireType() == ProtoReader.LENGTH_DELIMITED) {
                name = r.readString();
            } else if (field == 2 && r.wireType() == ProtoReader.LENGTH_DELIMITED) {
                ProtoReader type = r.readMessage();
                while (type.hasMore()) {
                    if (type.readField() == 1 && type.wireType() == ProtoReader.LENGTH_DELIMITED) {
                        ProtoReader tensorType = type.readMessage();
                        while (tensorType.hasMore()) {
                            int f = tensorType.readField();
                            if (f == 1 && tensorType.wireType() == ProtoReader.VARINT) {
                                elementType = tensorType.readInt32("elem_type");
                            } else if (f == 2 && tensorType.wireType() == ProtoReader.LENGTH_DELIMITED) {
                                readShape(tensorType.readMessage(), dims);
                            } else {
                                tensorType.skip();
                            }
                        }
                    } else {
                        type.skip();
                    }
                }
            } else {
                r.skip();
            }
        }
        return new OnnxValueInfo(name, elementType, dims);
    }

    private static void readShape(ProtoReader shape, List<String> dims) {
        while (shape.hasMore()) {
            if (shape.readField() == 1 && shape.wireType() == ProtoReader.LENGTH_DELIMITED) {
                ProtoReader dim = shape.readMessage();
                String value = "?";
                while (dim.hasMore()) {
                    int f = dim.readField();
                    if (f == 1 && dim.wireType() == ProtoReader.VARINT) {
                        value = Long.toString(dim.readVarint());
                    } else if (f == 2 && dim.wireType() == ProtoReader.LENGTH_DELIMITED) {
                        value = dim.readString();
                    } else {
                        dim.skip();
                    }
                }
                dims.add(value);
            } else {
                shape.skip();
            }
        }
    }

    private List<OnnxLinear> findLinears() {
        List<OnnxLinear> found = new ArrayList<>();
        for (OnnxNode node : nodes) {
            if (!node.opType().equals("MatMul")) {
                continue;
            }
            Matcher m = LINEAR_NODE.matcher(node.name());
            OnnxTensor weight = initializers.get(node.input(1));
            if (!m.matches() || weight == null || weight.dataType() != OnnxTensor.FLOAT || weight.rank() != 2) {
                continue;
            }
            String role = m.group(2);
            if (role.startsWith("attention/self/")) {
                role = role.substring("attention/self/".length());
            }
            if (role.endsWith("/dense")) {
                role = role.substring(0, role.length() - "/dense".length());
            }
            found.add(new OnnxLinear(Integer.parseInt(m.group(1)), role.replace('/', '.'), node.name(), weight,
                    biasAfter(node, weight.dim(1))));
        }
        found.sort(Comparator.comparingInt(OnnxLinear::layer));
        return found;
    }

    /** The 1-D FLOAT initializer of {@code out} elements that an Add node adds to {@code matMul}'s output. */
    private OnnxTensor biasAfter(OnnxNode matMul, int out) {
        for (OnnxNode add : consumers(matMul.outputs().getFirst())) {
            if (!add.opType().equals("Add")) {
                continue;
            }
            for (String in : add.inputs()) {
                OnnxTensor b = initializers.get(in);
                if (b != null && b.dataType() == OnnxTensor.FLOAT && b.rank() == 1 && b.dim(0) == out) {
                    return b;
                }
            }
        }
        return null;
    }

    /** The file this model was read from. */
    public Path path() {
        return path;
    }

    /** The file name, for messages. */
    public String fileName() {
        Path name = path.getFileName();
        return name == null ? path.toString() : name.toString();
    }

    /** Size of the file in bytes. */
    public long fileSize() {
        return file.byteSize();
    }

    /** The whole mapped file (read-only), for the writer. */
    MemorySegment fileBytes() {
        return file;
    }

    /** ONNX IR version of the file. */
    public long irVersion() {
        return irVersion;
    }

    /** Opset version of the default ONNX domain (0 when not declared). */
    public long opsetVersion() {
        return opsetVersion;
    }

    /** The producer recorded in the file ("pytorch", ...). */
    public String producer() {
        return producer;
    }

    /** Graph nodes in file order. */
    public List<OnnxNode> nodes() {
        return List.copyOf(nodes);
    }

    /** Initializers in file order. */
    public List<OnnxTensor> initializers() {
        return List.copyOf(initializers.values());
    }

    /** The initializer called {@code name}, or null. */
    public OnnxTensor initializer(String name) {
        return initializers.get(name);
    }

    /** Graph inputs. */
    public List<OnnxValueInfo> inputs() {
        return List.copyOf(inputs);
    }

    /** Graph outputs. */
    public List<OnnxValueInfo> outputs() {
        return List.copyOf(outputs);
    }

    /** The node that produces {@code value}, or null (graph inputs, initializers). */
    public OnnxNode producer(String value) {
        return producers.get(value);
    }

    /** The nodes that read {@code value}. */
    public List<OnnxNode> consumers(String value) {
        return List.copyOf(consumers.getOrDefault(value, List.of()));
    }

    /** The nodes whose name lies inside the module scope {@code scope} (name equal to it or starting with {@code scope + "/"}). */
    public List<OnnxNode> nodesInScope(String scope) {
        String prefix = scope + "/";
        return nodes.stream().filter(n -> n.name().equals(scope) || n.name().startsWith(prefix)).toList();
    }

    /**
     * Every Linear of the transformer blocks, found through the MatMul nodes named
     * {@code .../layer.N/<module>/MatMul} whose B input is a 2-D FLOAT initializer; sorted by layer, then in
     * graph order.
     */
    public List<OnnxLinear> linears() {
        return linears;
    }

    /**
     * The constant tensor behind {@code value}: an initializer of that name or the {@code value} of the
     * {@code Constant} node producing it; null when it is neither.
     */
    public OnnxTensor constant(String value) {
        OnnxTensor init = initializers.get(value);
        if (init != null) {
            return init;
        }
        OnnxNode node = producers.get(value);
        if (node != null && node.opType().equals("Constant")) {
            return node.attribute("value").map(OnnxAttribute::tensor).orElse(null);
        }
        return null;
    }

    /** The bytes of {@code tensor} as a read-only slice of the mapped file (no copy). */
    public MemorySegment data(OnnxTensor tensor) {
        requireBytes(tensor);
        return file.asSlice(tensor.dataOffset(), tensor.dataLength());
    }

    /**
     * A float32 copy of a FLOAT tensor in {@code arena}: {@code [r, c]} as an r x c matrix, {@code [n]} (or a
     * scalar) as 1 x n.
     */
    public FloatMatrix readMatrix(OnnxTensor tensor, Arena target) {
        if (tensor.dataType() != OnnxTensor.FLOAT) {
            throw new ThanosjException("tensor '" + tensor.name() + "' in " + fileName() + " is "
                    + OnnxTensor.typeName(tensor.dataType()) + ", expected FLOAT");
        }
        int rows;
        int cols;
        switch (tensor.rank()) {
            case 0 -> {
                rows = 1;
                cols = 1;
            }
            case 1 -> {
                rows = 1;
                cols = tensor.dim(0);
            }
            case 2 -> {
                rows = tensor.dim(0);
                cols = tensor.dim(1);
            }
            default -> throw new ThanosjException("tensor '" + tensor.name() + "' in " + fileName() + " has shape "
                    + tensor.shape() + ", expected a matrix or a vector");
        }
        return FloatMatrix.fromStorage(target, data(tensor), DType.F32, rows, cols);
    }

    /** The values of an INT64 tensor. */
    public long[] int64Values(OnnxTensor tensor) {
        if (tensor.dataType() != OnnxTensor.INT64) {
            throw new ThanosjException("tensor '" + tensor.name() + "' in " + fileName() + " is "
                    + OnnxTensor.typeName(tensor.dataType()) + ", expected INT64");
        }
        MemorySegment bytes = data(tensor);
        long[] values = new long[Math.toIntExact(tensor.elementCount())];
        for (int i = 0; i < values.length; i++) {
            values[i] = bytes.get(LE_LONG, (long) i * Long.BYTES);
        }
        return values;
    }

    /** The value of a one-element FLOAT or DOUBLE tensor. */
    public double scalar(OnnxTensor tensor) {
        if (tensor.elementCount() != 1) {
            throw new ThanosjException("tensor '" + tensor.name() + "' in " + fileName() + " has shape "
                    + tensor.shape() + ", expected a single value");
        }
        return switch (tensor.dataType()) {
            case OnnxTensor.FLOAT -> data(tensor).get(LE_FLOAT, 0);
            case 11 -> data(tensor).get(LE_DOUBLE, 0);
            default -> throw new ThanosjException("tensor '" + tensor.name() + "' in " + fileName() + " is "
                    + OnnxTensor.typeName(tensor.dataType()) + ", expected FLOAT");
        };
    }

    private void requireBytes(OnnxTensor tensor) {
        if (!tensor.hasBytes()) {
            String where = switch (tensor.location()) {
                case EXTERNAL -> "in an external data file; only self-contained ONNX files are supported";
                case TYPED_FIELD -> "in a typed field this reader does not read (only raw_data and packed float_data)";
                default -> "nowhere: it has no values";
            };
            throw new ThanosjException("tensor '" + tensor.name() + "' in " + fileName() + " keeps its values " + where);
        }
    }

    /** Unmaps the file; segments and tensors' data obtained from this model become unusable. */
    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "OnnxModel[" + path + ", ir " + irVersion + ", opset " + opsetVersion + ", " + nodes.size() + " nodes, "
                + initializers.size() + " initializers]";
    }
}
