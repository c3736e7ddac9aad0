package dev.thanosj.model.onnx;

import java.util.List;
import java.util.Optional;

/**
 * An ONNX {@code NodeProto}: one operator application in the graph.
 *
 * @param name       node name (exporters encode the module path: {@code /encoder/layer.0/attention/self/query/MatMul})
 * @param opType     operator ({@code MatMul}, {@code Add}, ...)
 * @param domain     operator domain ("" for the default ONNX domain)
 * @param inputs     names of the input values ("" for an omitted optional input)
 * @param outputs    names of the output values
 * @param attributes the attributes kept by the reader
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                       List<OnnxAttribute> attributes) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = List.copyOf(attributes);
    }

    /** The attribute called {@code attributeName}, if present. */
    public Optional<OnnxAttribute> attribute(String attributeName) {
        return attributes.stream().filter(a -> a.name().equals(attributeName)).findFirst();
    }

    /** Input {@code i}, or "" when the node has fewer inputs. */
    public String input(int i) {
        return i < inputs.size() ? inputs.get(i) : "";
    }
}
