package dev.thanosj.model.onnx;

import java.util.List;

/**
 * The parts of an ONNX {@code AttributeProto} this library reads: a float, an int, a tensor (a
 * {@code Constant}'s value) or lists of ints and floats. Sub-graphs and strings are not kept.
 *
 * @param name   attribute name
 * @param type   {@code AttributeProto.AttributeType} code (1 FLOAT, 2 INT, 4 TENSOR, 6 FLOATS, 7 INTS, ...)
 * @param f      the float value (0 when absent)
 * @param i      the int value (0 when absent)
 * @param tensor the tensor value, or null
 * @param floats the float list (empty when absent)
 * @param ints   the int list (empty when absent)
 */
public record OnnxAttribute(String name, int type, float f, long i, OnnxTensor tensor, List<Float> floats, List<Long> ints) {
    public OnnxAttribute {
        floats = List.copyOf(floats);
        ints = List.copyOf(ints);
    }
}
