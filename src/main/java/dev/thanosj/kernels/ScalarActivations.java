package dev.thanosj.kernels;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * The activations in plain Java: the scalar functions of {@link FloatMath} in straight loops; LayerNorm's
 * mean and variance accumulate in double. The fallback where the Vector API is absent, and the baseline of
 * the Panama implementation's tests.
 */
final class ScalarActivations implements Activations {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String toString() {
        return "scalar";
    }

    @Override
    public void erf(MemorySegment row, int n) {
        for (int i = 0; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, FloatMath.erf(row.getAtIndex(JAVA_FLOAT, i)));
        }
    }

    @Override
    public void exp(MemorySegment row, int n) {
        for (int i = 0; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, FloatMath.exp(row.getAtIndex(JAVA_FLOAT, i)));
        }
    }

    @Override
    public void gelu(MemorySegment row, int n) {
        for (int i = 0; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, FloatMath.gelu(row.getAtIndex(JAVA_FLOAT, i)));
        }
    }

    @Override
    public void softmax(MemorySegment row, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, row.getAtIndex(JAVA_FLOAT, i));
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = FloatMath.exp(row.getAtIndex(JAVA_FLOAT, i) - max);
            row.setAtIndex(JAVA_FLOAT, i, e);
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, row.getAtIndex(JAVA_FLOAT, i) * inv);
        }
    }

    @Override
    public void layerNorm(MemorySegment row, MemorySegment residual, MemorySegment gamma, MemorySegment beta, float eps, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = row.getAtIndex(JAVA_FLOAT, i);
            if (residual != null) {
                v += residual.getAtIndex(JAVA_FLOAT, i);
                row.setAtIndex(JAVA_FLOAT, i, v);
            }
            sum += v;
        }
        double mean = sum / n;
        double squares = 0;
        for (int i = 0; i < n; i++) {
            double centred = row.getAtIndex(JAVA_FLOAT, i) - mean;
            squares += centred * centred;
        }
        double inv = 1.0 / Math.sqrt(squares / n + eps);
        for (int i = 0; i < n; i++) {
            double normalized = (row.getAtIndex(JAVA_FLOAT, i) - mean) * inv;
            row.setAtIndex(JAVA_FLOAT, i, (float) (normalized * gamma.getAtIndex(JAVA_FLOAT, i) + beta.getAtIndex(JAVA_FLOAT, i)));
        }
    }
}
