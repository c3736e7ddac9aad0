package dev.thanosj.model.llama;

import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Rotary position embeddings in the Hugging Face convention ({@code rotate_half}): dimension {@code i} of a
 * head is paired with {@code i + d/2}, both rotated by the angle {@code position x invFreq[i]},
 * {@code invFreq[i] = theta^(-2i/d)}, optionally rescaled as Llama 3 does. Cosines and sines for positions
 * {@code [0, seqLen)} are tabulated once ({@code seqLen x d/2}, computed in double).
 */
final class Rope {
    private final int half;
    private final FloatMatrix cos;
    private final FloatMatrix sin;

    Rope(LlamaConfig config, int seqLen, Arena arena) {
        this.half = config.headDim() / 2;
        double[] invFreq = inverseFrequencies(config);
        this.cos = FloatMatrix.allocate(arena, seqLen, half);
        this.sin = FloatMatrix.allocate(arena, seqLen, half);
        for (int p = 0; p < seqLen; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * invFreq[i];
                cos.set(p, i, (float) Math.cos(angle));
                sin.set(p, i, (float) Math.sin(angle));
            }
        }
    }

    /**
     * {@code theta^(-2i/d)} for {@code i < d/2}, with the {@code llama3} scaling of
     * {@code transformers.modeling_rope_utils._compute_llama3_parameters} when the config has one.
     */
    static double[] inverseFrequencies(LlamaConfig config) {
        int d = config.headDim();
        double[] inv = new double[d / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / d);
        }
        LlamaConfig.RopeScaling s = config.ropeScaling();
        if (s == null) {
            return inv;
        }
        double oldContext = s.originalMaxPositionEmbeddings();
        double lowFreqWavelen = oldContext / s.lowFreqFactor();
        double highFreqWavelen = oldContext / s.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = inv[i] / s.factor();
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (oldContext / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
            }
        }
        return inv;
    }

    /**
     * Rotates, in place, the {@code heads} heads of row {@code r} of {@code x} (row width {@code heads x d}),
     * the token at {@code position}.
     */
    void apply(FloatMatrix x, int r, int heads, int position) {
        MemorySegment row = x.row(r);
        MemorySegment c = cos.row(position);
        MemorySegment s = sin.row(position);
        int d = 2 * half;
        for (int h = 0; h < heads; h++) {
            int base = h * d;
            for (int i = 0; i < half; i++) {
                float a = row.getAtIndex(JAVA_FLOAT, base + i);
                float b = row.getAtIndex(JAVA_FLOAT, base + i + half);
                float ci = c.getAtIndex(JAVA_FLOAT, i);
                float si = s.getAtIndex(JAVA_FLOAT, i);
                row.setAtIndex(JAVA_FLOAT, base + i, a * ci - b * si);
                row.setAtIndex(JAVA_FLOAT, base + i + half, b * ci + a * si);
            }
        }
    }
}
