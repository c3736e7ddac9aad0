package dev.thanosj.model.bert;

import dev.thanosj.model.onnx.OnnxLinear;
import dev.thanosj.tensor.FloatMatrix;

/**
 * Sees the actual input of each Linear while an encoder layer runs ({@link BertEncoder#layer}): for
 * calibration statistics (the Hessian {@code XᵀX}, Wanda's column norms).
 */
@FunctionalInterface
public interface LinearTap {
    /**
     * Called with {@code inputs}, {@code tokens x linear.inFeatures()}: the rows are real tokens only (no
     * padding). Called once per chunk of sequences, so possibly several times per Linear per layer call;
     * query, key and value receive the same matrix. {@code inputs} is valid only during the call and must not
     * be modified.
     */
    void accept(OnnxLinear linear, FloatMatrix inputs);
}
