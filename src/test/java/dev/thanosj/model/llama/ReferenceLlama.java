package dev.thanosj.model.llama;

import dev.thanosj.model.pipeline.LinearRef;
import dev.thanosj.model.safetensors.SafetensorsModel;
import dev.thanosj.tensor.FloatMatrix;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;

/**
 * A slow, obviously-correct forward pass in double precision, written line by line after
 * {@code transformers}' {@code modeling_llama.py} (and Qwen2's biases, Mistral's sliding window):
 * {@code LlamaRMSNorm}, {@code apply_rotary_pos_emb} with {@code rotate_half} on {@code cat(freqs, freqs)},
 * {@code repeat_kv}, the additive causal mask, {@code softmax}, {@code LlamaMLP}. Weights are read from the
 * model (its current, possibly replaced linears) as float32 and widened; one sequence at a time.
 */
final class ReferenceLlama implements AutoCloseable {
    private final LlamaModel model;
    private final LlamaConfig c;
    private final SafetensorsModel files;
    private final Arena arena = Arena.ofConfined();
    private final Map<String, double[][]> cache = new HashMap<>();

    ReferenceLlama(LlamaModel model) {
        this.model = model;
        this.c = model.config();
        this.files = SafetensorsModel.open(model.directory());
    }

    /** Logits of one sequence, {@code [tokens][vocab]}. */
    double[][] logits(int[] ids) {
        double[][] x = rmsNorm(hidden(ids, c.numHiddenLayers(), null), vector("model.norm.weight"));
        return linear(x, tensor(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight"), null);
    }

    /**
     * The residual stream after the first {@code blocks} blocks; the inputs of every projection of those
     * blocks are put into {@code taps} (by tensor name) when it is not null.
     */
    double[][] hidden(int[] ids, int blocks, Map<String, double[][]> taps) {
        double[][] embed = tensor("model.embed_tokens.weight");
        double[][] x = new double[ids.length][];
        for (int t = 0; t < ids.length; t++) {
            x[t] = embed[ids[t]].clone();
        }
        for (int b = 0; b < blocks; b++) {
            x = block(b, x, taps == null ? new HashMap<>() : taps);
        }
        return x;
    }

    private double[][] block(int b, double[][] x, Map<String, double[][]> taps) {
        String p = "model.layers." + b + ".";
        int T = x.length;
        int d = c.headDim();
        int heads = c.numAttentionHeads();
        int nRep = heads / c.numKeyValueHeads();
        double[][] xn = rmsNorm(x, vector(p + "input_layernorm.weight"));
        taps.put(p + "self_attn.q_proj.weight", xn);
        taps.put(p + "self_attn.k_proj.weight", xn);
        taps.put(p + "self_attn.v_proj.weight", xn);
        double[][] q = linear(xn, weight(b, 0), bias(p + "self_attn.q_proj.bias"));
        double[][] k = linear(xn, weight(b, 1), bias(p + "self_attn.k_proj.bias"));
        double[][] v = linear(xn, weight(b, 2), bias(p + "self_attn.v_proj.bias"));
        double[][] cos = new double[T][d];
        double[][] sin = new double[T][d];
        double[] invFreq = invFreq();
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < d; i++) {
                double freq = t * invFreq[i % (d / 2)]; // emb = cat(freqs, freqs)
                cos[t][i] = Math.cos(freq);
                sin[t][i] = Math.sin(freq);
            }
        }
        q = rotary(q, heads, cos, sin);
        k = rotary(k, c.numKeyValueHeads(), cos, sin);
        double[][] attn = new double[T][heads * d];
        for (int h = 0; h < heads; h++) {
            int kvh = h / nRep; // repeat_kv
            for (int i = 0; i < T; i++) {
                double[] scores = new double[T];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < T; j++) {
                    boolean visible = j <= i && (c.slidingWindow() == 0 || i - j < c.slidingWindow());
                    double s = 0;
                    for (int e = 0; e < d; e++) {
                        s += q[i][h * d + e] * k[j][kvh * d + e];
                    }
                    scores[j] = visible ? s / Math.sqrt(d) : Double.NEGATIVE_INFINITY;
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < T; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int j = 0; j < T; j++) {
                    for (int e = 0; e < d; e++) {
                        attn[i][h * d + e] += scores[j] / sum * v[j][kvh * d + e];
                    }
                }
            }
        }
        taps.put(p + "self_attn.o_proj.weight", attn);
        x = add(x, linear(attn, weight(b, 3), null));
        double[][] xn2 = rmsNorm(x, vector(p + "post_attention_layernorm.weight"));
        taps.put(p + "mlp.gate_proj.weight", xn2);
        taps.put(p + "mlp.up_proj.weight", xn2);
        double[][] gate = linear(xn2, weight(b, 4), null);
        double[][] up = linear(xn2, weight(b, 5), null);
        double[][] act = new double[T][gate[0].length];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < act[t].length; i++) {
                double g = gate[t][i];
                act[t][i] = g / (1 + Math.exp(-g)) * up[t][i];
            }
        }
        taps.put(p + "mlp.down_proj.weight", act);
        return add(x, linear(act, weight(b, 6), null));
    }

    /** {@code inv_freq}, with {@code _compute_llama3_parameters} written as in transformers (torch.where form). */
    double[] invFreq() {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        for (int i = 0; i < d / 2; i++) {
            inv[i] = 1.0 / Math.pow(c.ropeTheta(), (double) (2 * i) / d);
        }
        LlamaConfig.RopeScaling s = c.ropeScaling();
        if (s == null) {
            return inv;
        }
        double lowFreqWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highFreqWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        double[] out = new double[inv.length];
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            double invLlama = wavelen > lowFreqWavelen ? inv[i] / s.factor() : inv[i];
            double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                    / (s.highFreqFactor() - s.lowFreqFactor());
            double smoothed = (1 - smooth) * invLlama / s.factor() + smooth * invLlama;
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            out[i] = medium ? smoothed : invLlama;
        }
        return out;
    }

    /** {@code x * cos + rotate_half(x) * sin} per head, {@code rotate_half(x) = cat(-x2, x1)}. */
    private double[][] rotary(double[][] x, int heads, double[][] cos, double[][] sin) {
        int d = c.headDim();
        double[][] out = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < d; i++) {
                    double rotated = i < d / 2 ? -x[t][h * d + i + d / 2] : x[t][h * d + i - d / 2];
                    out[t][h * d + i] = x[t][h * d + i] * cos[t][i] + rotated * sin[t][i];
                }
            }
        }
        return out;
    }

    private double[][] rmsNorm(double[][] x, double[] w) {
        double[][] out = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            double variance = 0;
            for (double e : x[t]) {
                variance += e * e / x[t].length;
            }
            for (int i = 0; i < x[t].length; i++) {
                out[t][i] = w[i] * (x[t][i] / Math.sqrt(variance + c.rmsNormEps()));
            }
        }
        return out;
    }

    /** {@code x Wᵀ + b} with {@code W} as {@code [out][in]}. */
    private static double[][] linear(double[][] x, double[][] w, double[] b) {
        double[][] y = new double[x.length][w.length];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < w.length; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < x[t].length; i++) {
                    s += x[t][i] * w[o][i];
                }
                y[t][o] = s;
            }
        }
        return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] out = new double[a.length][a[0].length];
        for (int t = 0; t < a.length; t++) {
            for (int i = 0; i < a[t].length; i++) {
                out[t][i] = a[t][i] + b[t][i];
            }
        }
        return out;
    }

    /** The current weight of linear {@code index} (q, k, v, o, gate, up, down) of {@code block}. */
    private double[][] weight(int block, int index) {
        LinearRef ref = model.linears(block).get(index);
        return widen(model.weight(ref, arena));
    }

    private double[] bias(String name) {
        return files.has(name) ? vector(name) : null;
    }

    private double[] vector(String name) {
        return tensor(name)[0];
    }

    private double[][] tensor(String name) {
        return cache.computeIfAbsent(name, n -> widen(files.matrix(arena, n)));
    }

    static double[][] widen(FloatMatrix m) {
        double[][] out = new double[m.rows()][m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            for (int col = 0; col < m.cols(); col++) {
                out[r][col] = m.get(r, col);
            }
        }
        return out;
    }

    @Override
    public void close() {
        files.close();
        arena.close();
    }
}
