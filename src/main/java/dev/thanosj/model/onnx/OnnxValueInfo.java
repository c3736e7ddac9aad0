package dev.thanosj.model.onnx;

import java.util.List;

/**
 * A graph input or output ({@code ValueInfoProto}) with its tensor type.
 *
 * @param name        value name ({@code input_ids}, {@code last_hidden_state}, ...)
 * @param elementType ONNX data type code of the elements (0 when not a tensor or not given)
 * @param dims        each dimension as its number or its symbolic name ({@code "batch_size"}); "?" when unknown
 */
public record OnnxValueInfo(String name, int elementType, List<String> dims) {
    public OnnxValueInfo {
        dims = List.copyOf(dims);
    }
}
