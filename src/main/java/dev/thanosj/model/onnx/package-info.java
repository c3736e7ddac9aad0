/**
 * ONNX model files read and written without an ONNX library: {@link dev.thanosj.model.onnx.OnnxModel}
 * memory-maps a file and parses the parts of its {@code ModelProto} this library needs with a bounded,
 * validated protobuf reader (nodes, initializers with the location of their bytes, graph inputs and
 * outputs), and finds each Linear of the transformer blocks through the {@code MatMul} node that uses its
 * weight ({@link dev.thanosj.model.onnx.OnnxLinear}, weights stored {@code [in, out]}).
 * {@link dev.thanosj.model.onnx.OnnxWriter} writes a pruned copy: the same bytes with chosen initializers'
 * values replaced, through a temporary file renamed into place.
 */
package dev.thanosj.model.onnx;
