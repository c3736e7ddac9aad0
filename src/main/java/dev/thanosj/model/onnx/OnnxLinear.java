package dev.thanosj.model.onnx;

/**
 * A Linear layer of a transformer block found through the {@code MatMul} node that uses its weight:
 * {@code Y = X · W + b} with the weight initializer stored {@code [in, out]} as MatMul's B input (the
 * transpose of PyTorch's {@code [out, in]}).
 *
 * @param layer    index of the block ({@code N} in {@code /encoder/layer.N/...})
 * @param role     the module path inside the block, shortened: {@code query}, {@code key}, {@code value},
 *                 {@code attention.output}, {@code intermediate}, {@code output}
 * @param nodeName the MatMul node's name
 * @param weight   the weight initializer, FLOAT, {@code [in, out]}
 * @param bias     the bias initializer added to MatMul's output ({@code [out]}), or null when there is none
 */
public record OnnxLinear(int layer, String role, String nodeName, OnnxTensor weight, OnnxTensor bias) {

    /** Input features: rows of the stored weight. */
    public int inFeatures() {
        return weight.dim(0);
    }

    /** Output features: columns of the stored weight. */
    public int outFeatures() {
        return weight.dim(1);
    }

    /** A short unique label, {@code layer.N.role}, for reports and maps. */
    public String label() {
        return "layer." + layer + "." + role;
    }
}
