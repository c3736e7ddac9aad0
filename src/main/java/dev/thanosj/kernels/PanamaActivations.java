package dev.thanosj.kernels;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The activations on the Vector API ({@code jdk.incubator.vector}): {@link FloatMath}'s algorithms lane-wise
 * and branch-free (both erf pieces are evaluated and blended; special values fall out of the arithmetic).
 *
 * <p><b>Loop shape</b> (as in {@code PanamaKernels}): the body runs in steps of {@code L = SPECIES.length()}
 * lanes up to {@code SPECIES.loopBound(n)}, and a scalar tail (at most L − 1 entries) finishes with
 * {@link FloatMath}'s scalar functions (same algorithm; a tail entry may differ from a body entry by the
 * rounding of an FMA, both within the stated bounds). The elementwise kernels are not unrolled: a step is
 * a chain of 20 to 45 dependent operations and the steps are independent, so the out-of-order core overlaps
 * consecutive steps by itself. <b>Reductions</b> (softmax's max, LayerNorm's sums) use two accumulators,
 * enough for rows of a few hundred floats where the loads dominate; their lanes are summed in lane order in
 * double, not with {@code reduceLanes(ADD)}, whose order is unspecified and differs between the interpreter
 * and C2 (a row would not normalise to the same floats twice).
 *
 * <p><b>Written out in full.</b> Every loop body calls only the Vector API (whose methods are
 * {@code @ForceInline}), never a helper of this class: C2 inlines ordinary methods only within its size
 * and node budgets, and a vector passed to a method it did not inline is boxed on the heap, which made a
 * GELU with helpers 10× slower, depending on compilation order. Hence the repeated polynomials.
 *
 * <p><b>FMA</b> is used unconditionally: {@link ActivationsProvider} creates this class only where HotSpot
 * reports hardware FMA ({@code -XX:+UseFMA}) and uses the scalar activations otherwise.
 */
final class PanamaActivations implements Activations {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, SPECIES.vectorShape());
    private static final int L = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    // FloatMath's constants as vectors, so that the loops need no broadcasts. Not as the initial value of a
    // loop-carried accumulator, though: C2 cannot keep a vector in a register across a loop whose phi
    // starts from a constant object, and boxes it every iteration (accumulators start at FloatVector.zero).
    private static final FloatVector ZERO = constant(0f);
    private static final FloatVector HALF = constant(0.5f);
    private static final FloatVector ONE = constant(1f);
    private static final FloatVector TWO = constant(2f);
    private static final FloatVector LOWEST = constant(-Float.MAX_VALUE);
    private static final FloatVector FRAC_1_SQRT_2 = constant(FloatMath.FRAC_1_SQRT_2);
    private static final FloatVector ERF_SPLIT = constant(FloatMath.ERF_SPLIT);
    private static final FloatVector ERF_ONE = constant(FloatMath.ERF_ONE);
    private static final FloatVector ERFC_CENTRE = constant(FloatMath.ERFC_CENTRE);
    private static final FloatVector EXP_LOW = constant(FloatMath.EXP_LOW);
    private static final FloatVector EXP_HIGH = constant(FloatMath.EXP_HIGH);
    private static final FloatVector LOG2E = constant(FloatMath.LOG2E);
    private static final FloatVector ROUNDER = constant(FloatMath.ROUNDER);
    private static final FloatVector MINUS_LN2_HI = constant(-FloatMath.LN2_HI);
    private static final FloatVector MINUS_LN2_LO = constant(-FloatMath.LN2_LO);
    private static final IntVector SIGN = IntVector.broadcast(INTS, 0x80000000);
    private static final IntVector ROUNDER_BITS = IntVector.broadcast(INTS, FloatMath.ROUNDER_BITS);
    private static final IntVector EXPONENT_BIAS = IntVector.broadcast(INTS, 127);
    private static final FloatVector P0 = constant(FloatMath.P0);
    private static final FloatVector P1 = constant(FloatMath.P1);
    private static final FloatVector P2 = constant(FloatMath.P2);
    private static final FloatVector P3 = constant(FloatMath.P3);
    private static final FloatVector P4 = constant(FloatMath.P4);
    private static final FloatVector P5 = constant(FloatMath.P5);
    private static final FloatVector P6 = constant(FloatMath.P6);
    private static final FloatVector Q0 = constant(FloatMath.Q0);
    private static final FloatVector Q1 = constant(FloatMath.Q1);
    private static final FloatVector Q2 = constant(FloatMath.Q2);
    private static final FloatVector Q3 = constant(FloatMath.Q3);
    private static final FloatVector Q4 = constant(FloatMath.Q4);
    private static final FloatVector Q5 = constant(FloatMath.Q5);
    private static final FloatVector Q6 = constant(FloatMath.Q6);
    private static final FloatVector Q7 = constant(FloatMath.Q7);
    private static final FloatVector Q8 = constant(FloatMath.Q8);
    private static final FloatVector Q9 = constant(FloatMath.Q9);
    private static final FloatVector Q10 = constant(FloatMath.Q10);
    private static final FloatVector Q11 = constant(FloatMath.Q11);
    private static final FloatVector Q12 = constant(FloatMath.Q12);
    private static final FloatVector Q13 = constant(FloatMath.Q13);
    private static final FloatVector Q14 = constant(FloatMath.Q14);
    private static final FloatVector Q15 = constant(FloatMath.Q15);
    private static final FloatVector R0 = constant(FloatMath.R0);
    private static final FloatVector R1 = constant(FloatMath.R1);
    private static final FloatVector R2 = constant(FloatMath.R2);
    private static final FloatVector R3 = constant(FloatMath.R3);
    private static final FloatVector R4 = constant(FloatMath.R4);

    private static FloatVector constant(float c) {
        return FloatVector.broadcast(SPECIES, c);
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String toString() {
        return "Panama " + SPECIES.vectorBitSize() + "-bit (" + L + " floats, FMA)";
    }

    @Override
    public void erf(MemorySegment row, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            long at = (long) i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(SPECIES, row, at, ORDER);
            FloatVector a = x.abs();
            // |x| ≤ 1: x + x·P(x²)
            FloatVector s = a.mul(a);
            FloatVector p = P6.fma(s, P5).fma(s, P4).fma(s, P3).fma(s, P2).fma(s, P1).fma(s, P0);
            FloatVector small = x.fma(p, x);
            // 1 < |x| < 4: ±(1 − Q(|x| − 2.5)); |x| ≥ 4 (and so ∞): ±1; NaN passes through min and Q
            FloatVector t = a.min(ERF_ONE).sub(ERFC_CENTRE);
            FloatVector q = Q15.fma(t, Q14).fma(t, Q13).fma(t, Q12).fma(t, Q11).fma(t, Q10).fma(t, Q9).fma(t, Q8)
                    .fma(t, Q7).fma(t, Q6).fma(t, Q5).fma(t, Q4).fma(t, Q3).fma(t, Q2).fma(t, Q1).fma(t, Q0);
            q = q.blend(ZERO, a.compare(VectorOperators.GE, ERF_ONE));
            IntVector sign = ((IntVector) x.reinterpretAsInts()).and(SIGN);
            FloatVector big = ((IntVector) ONE.sub(q).reinterpretAsInts()).or(sign).reinterpretAsFloats();
            big.blend(small, a.compare(VectorOperators.LE, ERF_SPLIT)).intoMemorySegment(row, at, ORDER);
        }
        for (; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, FloatMath.erf(row.getAtIndex(JAVA_FLOAT, i)));
        }
    }

    @Override
    public void gelu(MemorySegment row, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            long at = (long) i * Float.BYTES;
            // −∞ → −MAX_VALUE, so that x/2 · 0 below is −0 and not NaN; NaN stays NaN (Math.max semantics)
            FloatVector x = FloatVector.fromMemorySegment(SPECIES, row, at, ORDER).max(LOWEST);
            FloatVector z = x.mul(FRAC_1_SQRT_2);
            FloatVector a = z.abs();
            // |z| ≤ 1: 1 + erf(z) = 1 + (z + z·P(z²))
            FloatVector s = a.mul(a);
            FloatVector p = P6.fma(s, P5).fma(s, P4).fma(s, P3).fma(s, P2).fma(s, P1).fma(s, P0);
            FloatVector small = z.fma(p, z).add(ONE);
            // |z| > 1: 1 + erf(z) = 2 − erfc(|z|) for z > 0, erfc(|z|) for z < 0 (no cancellation)
            FloatVector t = a.min(ERF_ONE).sub(ERFC_CENTRE);
            FloatVector q = Q15.fma(t, Q14).fma(t, Q13).fma(t, Q12).fma(t, Q11).fma(t, Q10).fma(t, Q9).fma(t, Q8)
                    .fma(t, Q7).fma(t, Q6).fma(t, Q5).fma(t, Q4).fma(t, Q3).fma(t, Q2).fma(t, Q1).fma(t, Q0);
            q = q.blend(ZERO, a.compare(VectorOperators.GE, ERF_ONE));
            FloatVector big = TWO.sub(q).blend(q, z.compare(VectorOperators.LE, ZERO));
            FloatVector twicePhi = big.blend(small, a.compare(VectorOperators.LE, ERF_SPLIT));
            x.mul(HALF).mul(twicePhi).intoMemorySegment(row, at, ORDER);
        }
        for (; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, FloatMath.gelu(row.getAtIndex(JAVA_FLOAT, i)));
        }
    }

    @Override
    public void exp(MemorySegment row, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += L) {
            long at = (long) i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(SPECIES, row, at, ORDER).max(EXP_LOW).min(EXP_HIGH);
            FloatVector t = x.fma(LOG2E, ROUNDER);
            IntVector k = ((IntVector) t.reinterpretAsInts()).sub(ROUNDER_BITS);
            FloatVector kf = t.sub(ROUNDER);
            FloatVector r = kf.fma(MINUS_LN2_HI, x);
            r = kf.fma(MINUS_LN2_LO, r);
            FloatVector q = R4.fma(r, R3).fma(r, R2).fma(r, R1).fma(r, R0);
            FloatVector e = r.mul(r).fma(q, r).add(ONE);
            IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
            FloatVector s1 = k1.add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = k.sub(k1).add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            e.mul(s1).mul(s2).intoMemorySegment(row, at, ORDER);
        }
        for (; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, FloatMath.exp(row.getAtIndex(JAVA_FLOAT, i)));
        }
    }

    @Override
    public void softmax(MemorySegment row, int n) {
        int bound = SPECIES.loopBound(n);
        FloatVector max0 = constant(Float.NEGATIVE_INFINITY);
        FloatVector max1 = max0;
        int i = 0;
        for (; i + L < bound; i += 2 * L) {
            max0 = max0.max(FloatVector.fromMemorySegment(SPECIES, row, (long) i * Float.BYTES, ORDER));
            max1 = max1.max(FloatVector.fromMemorySegment(SPECIES, row, (long) (i + L) * Float.BYTES, ORDER));
        }
        for (; i < bound; i += L) {
            max0 = max0.max(FloatVector.fromMemorySegment(SPECIES, row, (long) i * Float.BYTES, ORDER));
        }
        float max = max0.max(max1).reduceLanes(VectorOperators.MAX); // exact in any order
        for (; i < n; i++) {
            max = Math.max(max, row.getAtIndex(JAVA_FLOAT, i));
        }
        FloatVector shift = constant(max);
        FloatVector sum = FloatVector.zero(SPECIES);
        for (i = 0; i < bound; i += L) {
            long at = (long) i * Float.BYTES;
            // exp(x − max), as in exp(); x − max ≤ 0, so only the lower clamp matters (NaN passes through it)
            FloatVector x = FloatVector.fromMemorySegment(SPECIES, row, at, ORDER).sub(shift).max(EXP_LOW);
            FloatVector t = x.fma(LOG2E, ROUNDER);
            IntVector k = ((IntVector) t.reinterpretAsInts()).sub(ROUNDER_BITS);
            FloatVector kf = t.sub(ROUNDER);
            FloatVector r = kf.fma(MINUS_LN2_HI, x);
            r = kf.fma(MINUS_LN2_LO, r);
            FloatVector q = R4.fma(r, R3).fma(r, R2).fma(r, R1).fma(r, R0);
            FloatVector e = r.mul(r).fma(q, r).add(ONE);
            IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
            FloatVector s1 = k1.add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = k.sub(k1).add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            e = e.mul(s1).mul(s2);
            e.intoMemorySegment(row, at, ORDER);
            sum = sum.add(e);
        }
        float[] lanes = new float[L];
        sum.intoArray(lanes, 0);
        double total = 0;
        for (float lane : lanes) {
            total += lane;
        }
        for (; i < n; i++) {
            float e = FloatMath.exp(row.getAtIndex(JAVA_FLOAT, i) - max);
            row.setAtIndex(JAVA_FLOAT, i, e);
            total += e;
        }
        float inv = (float) (1.0 / total);
        FloatVector scale = constant(inv);
        for (i = 0; i < bound; i += L) {
            long at = (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(SPECIES, row, at, ORDER).mul(scale).intoMemorySegment(row, at, ORDER);
        }
        for (; i < n; i++) {
            row.setAtIndex(JAVA_FLOAT, i, row.getAtIndex(JAVA_FLOAT, i) * inv);
        }
    }

    @Override
    public void layerNorm(MemorySegment row, MemorySegment residual, MemorySegment gamma, MemorySegment beta, float eps, int n) {
        int bound = SPECIES.loopBound(n);
        float[] lanes = new float[L];
        // Pass 1: v = row + residual (stored), Σv.
        double total = 0;
        int i = 0;
        if (residual != null) {
            FloatVector sum = FloatVector.zero(SPECIES);
            for (; i < bound; i += L) {
                long at = (long) i * Float.BYTES;
                FloatVector v = FloatVector.fromMemorySegment(SPECIES, row, at, ORDER)
                        .add(FloatVector.fromMemorySegment(SPECIES, residual, at, ORDER));
                v.intoMemorySegment(row, at, ORDER);
                sum = sum.add(v);
            }
            sum.intoArray(lanes, 0);
            for (int j = i; j < n; j++) {
                row.setAtIndex(JAVA_FLOAT, j, row.getAtIndex(JAVA_FLOAT, j) + residual.getAtIndex(JAVA_FLOAT, j));
            }
        } else {
            FloatVector sum0 = FloatVector.zero(SPECIES);
            FloatVector sum1 = FloatVector.zero(SPECIES);
            for (; i + L < bound; i += 2 * L) {
                sum0 = sum0.add(FloatVector.fromMemorySegment(SPECIES, row, (long) i * Float.BYTES, ORDER));
                sum1 = sum1.add(FloatVector.fromMemorySegment(SPECIES, row, (long) (i + L) * Float.BYTES, ORDER));
            }
            for (; i < bound; i += L) {
                sum0 = sum0.add(FloatVector.fromMemorySegment(SPECIES, row, (long) i * Float.BYTES, ORDER));
            }
            sum0.add(sum1).intoArray(lanes, 0);
        }
        for (float lane : lanes) {
            total += lane;
        }
        for (; i < n; i++) {
            total += row.getAtIndex(JAVA_FLOAT, i);
        }
        // Pass 2: centred on the float mean m0, Σ(v − m0) and Σ(v − m0)², which correct the mean and give the
        // variance (the corrected two-pass algorithm: the float sums of pass 1 may be off by ulps of a large mean).
        float mean0 = (float) (total / n);
        FloatVector centre0 = constant(mean0);
        FloatVector d0 = FloatVector.zero(SPECIES);
        FloatVector d1 = FloatVector.zero(SPECIES);
        FloatVector sq0 = FloatVector.zero(SPECIES);
        FloatVector sq1 = FloatVector.zero(SPECIES);
        for (i = 0; i + L < bound; i += 2 * L) {
            FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, row, (long) i * Float.BYTES, ORDER).sub(centre0);
            FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, row, (long) (i + L) * Float.BYTES, ORDER).sub(centre0);
            d0 = d0.add(a0);
            d1 = d1.add(a1);
            sq0 = a0.fma(a0, sq0);
            sq1 = a1.fma(a1, sq1);
        }
        for (; i < bound; i += L) {
            FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, row, (long) i * Float.BYTES, ORDER).sub(centre0);
            d0 = d0.add(a0);
            sq0 = a0.fma(a0, sq0);
        }
        d0.add(d1).intoArray(lanes, 0);
        double deviation = 0;
        for (float lane : lanes) {
            deviation += lane;
        }
        sq0.add(sq1).intoArray(lanes, 0);
        double squares = 0;
        for (float lane : lanes) {
            squares += lane;
        }
        for (; i < n; i++) {
            double d = row.getAtIndex(JAVA_FLOAT, i) - mean0;
            deviation += d;
            squares += d * d;
        }
        double shift = deviation / n;
        float mean = (float) (mean0 + shift);
        squares = Math.max(0, squares - deviation * shift);
        float inv = (float) (1.0 / Math.sqrt(squares / n + eps));
        // Pass 3: (v − mean) · inv · gamma + beta.
        FloatVector centre = constant(mean);
        FloatVector scale = constant(inv);
        for (i = 0; i < bound; i += L) {
            long at = (long) i * Float.BYTES;
            FloatVector normalized = FloatVector.fromMemorySegment(SPECIES, row, at, ORDER).sub(centre).mul(scale);
            normalized.fma(FloatVector.fromMemorySegment(SPECIES, gamma, at, ORDER), FloatVector.fromMemorySegment(SPECIES, beta, at, ORDER))
                    .intoMemorySegment(row, at, ORDER);
        }
        for (; i < n; i++) {
            float normalized = (row.getAtIndex(JAVA_FLOAT, i) - mean) * inv;
            row.setAtIndex(JAVA_FLOAT, i, normalized * gamma.getAtIndex(JAVA_FLOAT, i) + beta.getAtIndex(JAVA_FLOAT, i));
        }
    }
}
