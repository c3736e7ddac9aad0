package dev.thanosj.model.bert;

import dev.thanosj.tensor.FloatMatrix;

/**
 * Sentence-embedding fidelity: the mean cosine between the rows of two matrices of L2-normalised sentence
 * embeddings (pruned vs dense model on the same held-out text); 1 means identical directions.
 */
public final class Fidelity {
    private Fidelity() {
    }

    /** Mean over rows of {@code cos(a_i, b_i)}, in double; rows of zeros count as cosine 0. */
    public static double meanCosine(FloatMatrix a, FloatMatrix b) {
        a.requireSameShape(b, "meanCosine");
        double total = 0;
        for (int r = 0; r < a.rows(); r++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int c = 0; c < a.cols(); c++) {
                double x = a.get(r, c);
                double y = b.get(r, c);
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            total += na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
        }
        return a.rows() == 0 ? Double.NaN : total / a.rows();
    }
}
