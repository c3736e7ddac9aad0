package dev.thanosj.model.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Hand-made safetensors files for tests: any header bytes, any length field, any data. */
final class RawSafetensors {
    private RawSafetensors() {
    }

    /** Writes {@code path}: length field {@code headerLength}, then {@code header}, then {@code data}. */
    static Path write(Path path, long headerLength, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(header).put(data);
        Files.write(path, b.array());
        return path;
    }

    /** Writes {@code path} with a correct length field for {@code json} and {@code dataBytes} bytes 0, 1, 2, .... */
    static Path write(Path path, String json, int dataBytes) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        byte[] data = new byte[dataBytes];
        for (int i = 0; i < dataBytes; i++) {
            data[i] = (byte) i;
        }
        return write(path, header.length, header, data);
    }
}
