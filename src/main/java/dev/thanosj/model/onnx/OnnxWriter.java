package dev.thanosj.model.onnx;

import dev.thanosj.ThanosjException;
import dev.thanosj.io.AtomicOutput;
import dev.thanosj.tensor.DType;
import dev.thanosj.tensor.FloatMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Writes a copy of an ONNX model in which the values of some FLOAT initializers are replaced: every byte
 * of the source file is kept except those of the replaced tensors, which get new values of the same shape
 * (so offsets, lengths and the protobuf framing stay valid and ONNX Runtime loads the copy unchanged). The
 * file is copied in chunks from the mapping and written to a temporary sibling that is renamed into place
 * ({@link AtomicOutput}); only one replaced tensor is converted to bytes at a time.
 */
public final class OnnxWriter {
    /** Bytes written per call when copying the unchanged parts. */
    private static final long CHUNK = 8L << 20;

    private OnnxWriter() {
    }

    /**
     * Writes {@code source} to {@code target} with each initializer named in {@code replacements} holding the
     * given matrix's values as little-endian float32. A matrix must have the initializer's shape ({@code [r, c]}
     * as r x c, {@code [n]} as 1 x n). {@code target} must not be the source file.
     *
     * @throws ThanosjException naming the tensor or file when a name is unknown, a tensor is not a FLOAT
     *                          tensor stored in the file, or a shape differs
     */
    public static void write(OnnxModel source, Map<String, FloatMatrix> replacements, Path target) {
        List<Replacement> plan = new ArrayList<>();
        for (Map.Entry<String, FloatMatrix> e : replacements.entrySet()) {
            OnnxTensor tensor = source.initializer(e.getKey());
            if (tensor == null) {
                throw new ThanosjException(source.fileName() + " has no initializer '" + e.getKey() + "'");
            }
            if (tensor.dataType() != OnnxTensor.FLOAT || !tensor.hasBytes()) {
                throw new ThanosjException("initializer '" + tensor.name() + "' in " + source.fileName()
                        + " is not a FLOAT tensor stored in the file (" + OnnxTensor.typeName(tensor.dataType()) + ", "
                        + tensor.location() + ")");
            }
            FloatMatrix m = e.getValue();
            int rows = tensor.rank() == 2 ? tensor.dim(0) : 1;
            long cols = tensor.rank() == 2 ? tensor.dim(1) : tensor.elementCount();
            if (tensor.rank() > 2 || m.rows() != rows || m.cols() != cols) {
                throw new ThanosjException("replacement for '" + tensor.name() + "' in " + source.fileName() + " is "
                        + m.shape() + ", the tensor is " + tensor.shape());
            }
            plan.add(new Replacement(tensor, m));
        }
        plan.sort(Comparator.comparingLong(r -> r.tensor.dataOffset()));
        AtomicOutput.requireDistinct(source.path(), target, "output");
        MemorySegment file = source.fileBytes();
        AtomicOutput.writeFile(target, temporary -> {
            try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                long position = 0;
                for (Replacement r : plan) {
                    copy(file.asSlice(position, r.tensor.dataOffset() - position), out);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment bytes = arena.allocate(r.tensor.dataLength());
                        r.values.toStorage(bytes, DType.F32);
                        copy(bytes, out);
                    }
                    position = r.tensor.dataOffset() + r.tensor.dataLength();
                }
                copy(file.asSlice(position), out);
                out.force(true);
            }
        });
    }

    private static void copy(MemorySegment bytes, FileChannel out) throws IOException {
        for (long start = 0; start < bytes.byteSize(); start += CHUNK) {
            ByteBuffer buffer = bytes.asSlice(start, Math.min(CHUNK, bytes.byteSize() - start)).asByteBuffer();
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
        }
    }

    private record Replacement(OnnxTensor tensor, FloatMatrix values) {
    }
}
