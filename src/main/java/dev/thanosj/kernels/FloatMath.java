package dev.thanosj.kernels;

/**
 * The float32 elementary functions of {@link Activations}: their constants and their scalar forms, which
 * {@link ScalarActivations} runs and the Vector API loops of {@code PanamaActivations} repeat lane-wise
 * (and call for their tails). Plain multiply-then-add throughout (no {@code Math.fma}: these also run where
 * the CPU has no FMA); the bounds below hold for both that and the fused evaluation, and are checked by
 * {@code ActivationsTest} on dense grids against double-precision references.
 *
 * <p><b>erf</b>, absolute error ≤ 1e-7 on all floats (measured 6.8e-8 without FMA, 5.6e-8 with; half an
 * ulp of a result in [0.5, 1) is already 3e-8). Two pieces, both fitted here (Lawson's iteratively
 * reweighted least squares, coefficients rounded to float one at a time from the lowest, the rest refitted):
 * <ul>
 *   <li>{@code |x| ≤ 1}: {@code erf(x) = x + x·P(x²)}, P of degree 6 (fit error 1.1e-9 relative to x);
 *       the small correction {@code x·P} is added last, so the result is within an ulp or so.</li>
 *   <li>{@code 1 < |x| < 4}: {@code erfc(|x|) = Q(|x| − 2.5)}, Q of degree 15 (fit error 6e-10 absolute;
 *       {@code |x| − 2.5} is exact in float), {@code erf(x) = ±(1 − erfc)}. No exponential, no division.</li>
 *   <li>{@code |x| ≥ 4}: ±1 ({@code erfc(4) = 1.5e-8}); NaN stays NaN, ±0 stays ±0.</li>
 * </ul>
 * <b>GELU</b> {@code x·Φ(x) = x/2 · (1 + erf(x/√2))} reuses the pieces, but where {@code x/√2 < −1} it
 * takes {@code 1 + erf} as {@code erfc(|x|/√2)} directly (no cancellation): absolute error ≤ 1e-7 for
 * x ≤ 0.5 and ≤ 2e-7·x above (where it is the rounding of a result close to x; measured: at most 0.6 of
 * that bound). {@code gelu(+∞) = +∞}, {@code gelu(−∞) = −0} (the limit), NaN stays NaN.
 *
 * <p><b>exp</b>, at most 1 ulp for normal results (measured 0.99), subnormal results within 1.1e-45:
 * Cody–Waite reduction {@code x = n·ln2 + r}, {@code |r| ≤ ln2/2} (n rounded by adding 1.5·2²³, ln2 split
 * into a 15-bit head, so {@code n·ln2_hi} is exact, and a tail), {@code e^r = 1 + r + r²·R(r)} with R of
 * degree 4 (fit error 3.3e-9 relative), then scaling by {@code 2^(n/2)·2^(n − n/2)} so that results down to
 * the subnormals and up to overflow come out right with two exact-exponent factors. x is first clamped to
 * [−104, 89]: below, the result rounds to 0; above, it overflows to +∞.
 */
final class FloatMath {
    // ---- erf ----
    /** Where the small-argument piece of erf ends. */
    static final float ERF_SPLIT = 1f;
    /** Where erf becomes ±1. */
    static final float ERF_ONE = 4f;
    /** Centre of the erfc piece's variable {@code t = |x| − ERFC_CENTRE}. */
    static final float ERFC_CENTRE = 2.5f;
    static final float FRAC_1_SQRT_2 = 0.70710678118654752f;

    /** {@code erf(x)/x − 1 = Σ P_k · (x²)^k} on {@code |x| ≤ 1}. */
    static final float P0 = 0.12837915122509003f;
    static final float P1 = -0.37612584233283997f;
    static final float P2 = 0.1128324419260025f;
    static final float P3 = -0.02684186026453972f;
    static final float P4 = 0.005168022122234106f;
    static final float P5 = -0.0007845099316909909f;
    static final float P6 = 7.339073636103421e-05f;

    /** {@code erfc(a) = Σ Q_k · (a − 2.5)^k} on {@code 1 ≤ a ≤ 4}. */
    static final float Q0 = 0.0004069523129146546f;
    static final float Q1 = -0.002178278286010027f;
    static final float Q2 = 0.005445691291242838f;
    static final float Q3 = -0.00835021585226059f;
    static final float Q4 = 0.00862258393317461f;
    static final float Q5 = -0.0061165643855929375f;
    static final float Q6 = 0.002797613153234124f;
    static final float Q7 = -0.0005445915157906711f;
    static final float Q8 = -0.00025880965404212475f;
    static final float Q9 = 0.0002534966042730957f;
    static final float Q10 = -8.104518201434985e-05f;
    static final float Q11 = -7.804296728863847e-06f;
    static final float Q12 = 1.570029417052865e-05f;
    static final float Q13 = -3.4467959721951047e-06f;
    static final float Q14 = -8.875887829162821e-07f;
    static final float Q15 = 3.4922354075206385e-07f;

    // ---- exp ----
    static final float EXP_LOW = -104f;
    static final float EXP_HIGH = 89f;
    static final float LOG2E = 1.4426950408889634f;
    /** 1.5·2²³: adding it rounds to an integer, which then sits in the low mantissa bits. */
    static final float ROUNDER = 12582912f;
    static final int ROUNDER_BITS = 0x4b400000;
    /** ln 2 = LN2_HI + LN2_LO; LN2_HI has 15 significant bits, so {@code n · LN2_HI} is exact for |n| ≤ 2⁹. */
    static final float LN2_HI = 0.693145751953125f;
    static final float LN2_LO = 1.428606765330187045e-06f;
    /** {@code (e^r − 1 − r)/r² = Σ R_k · r^k} on {@code |r| ≤ 0.3486}. */
    static final float R0 = 0.4999999403953552f;
    static final float R1 = 0.1666651964187622f;
    static final float R2 = 0.04166829213500023f;
    static final float R3 = 0.008368907496333122f;
    static final float R4 = 0.0013819169253110886f;

    private FloatMath() {
    }

    /** {@code erf(x)/x − 1} for {@code s = x²}, {@code |x| ≤ 1}. */
    static float erfSmall(float s) {
        return ((((((P6 * s + P5) * s + P4) * s + P3) * s + P2) * s + P1) * s + P0);
    }

    /** {@code erfc(a)} for {@code t = a − 2.5}, {@code 1 < a < 4}. */
    static float erfcMid(float t) {
        float q = Q15 * t + Q14;
        q = q * t + Q13;
        q = q * t + Q12;
        q = q * t + Q11;
        q = q * t + Q10;
        q = q * t + Q9;
        q = q * t + Q8;
        q = q * t + Q7;
        q = q * t + Q6;
        q = q * t + Q5;
        q = q * t + Q4;
        q = q * t + Q3;
        q = q * t + Q2;
        q = q * t + Q1;
        return q * t + Q0;
    }

    /** erf(x), absolute error ≤ 1e-7. */
    static float erf(float x) {
        float a = Math.abs(x);
        if (a <= ERF_SPLIT) {
            return x * erfSmall(a * a) + x;
        }
        if (a < ERF_ONE) {
            return Math.copySign(1f - erfcMid(a - ERFC_CENTRE), x);
        }
        return a == a ? Math.copySign(1f, x) : x;
    }

    /** The exact (erf) GELU, {@code x·Φ(x)}. */
    static float gelu(float x) {
        float z = x * FRAC_1_SQRT_2;
        float a = Math.abs(z);
        float twicePhi; // 1 + erf(z) = 2Φ(x)
        if (a <= ERF_SPLIT) {
            twicePhi = (z * erfSmall(a * a) + z) + 1f;
        } else if (a < ERF_ONE) {
            float c = erfcMid(a - ERFC_CENTRE);
            twicePhi = z > 0 ? 2f - c : c;
        } else {
            return z > 0 ? x : z < 0 ? -0f : x;
        }
        return (0.5f * x) * twicePhi;
    }

    /** e^x, within 1 ulp. */
    static float exp(float x) {
        float c = Math.min(Math.max(x, EXP_LOW), EXP_HIGH);
        float t = c * LOG2E + ROUNDER;
        int n = Float.floatToRawIntBits(t) - ROUNDER_BITS;
        float nf = t - ROUNDER;
        float r = c - nf * LN2_HI;
        r = r - nf * LN2_LO;
        float q = (((R4 * r + R3) * r + R2) * r + R1) * r + R0;
        float p = ((r * r) * q + r) + 1f;
        int n1 = n >> 1;
        return p * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((n - n1 + 127) << 23);
    }
}
