package dev.thanosj.model.llama;

import dev.thanosj.model.pipeline.LinearRef;
import dev.thanosj.tensor.FloatMatrix;
import java.util.List;

/**
 * One decoder block's parameters in float32, owned by the arena they were loaded into: the two RMSNorm
 * weights ({@code 1 x hidden}), the seven projections ({@code [out, in]}, indexed by {@link LlamaModel.Proj})
 * and their biases ({@code 1 x out}, null when absent), with the block's {@link LinearRef}s in the same order.
 */
record BlockWeights(int block, List<LinearRef> linears, FloatMatrix inputNorm, FloatMatrix postNorm,
                    List<FloatMatrix> weights, List<FloatMatrix> biases) {

    FloatMatrix weight(LlamaModel.Proj p) {
        return weights.get(p.ordinal());
    }

    FloatMatrix bias(LlamaModel.Proj p) {
        return biases.get(p.ordinal());
    }

    LinearRef linear(LlamaModel.Proj p) {
        return linears.get(p.ordinal());
    }
}
