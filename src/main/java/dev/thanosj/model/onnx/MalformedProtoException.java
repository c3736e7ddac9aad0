package dev.thanosj.model.onnx;

/** The bytes are not a well-formed protobuf message (or not the ONNX message expected); the message says where. */
final class MalformedProtoException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MalformedProtoException(String message) {
        super(message);
    }
}
