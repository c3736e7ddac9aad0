package dev.thanosj.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ErfTest {
    @Test
    void matchesCommonsMathToDoublePrecision() {
        double worst = 0;
        for (int i = -100_000; i <= 100_000; i++) {
            double x = i * 1e-4 * 1.000_37; // a grid that does not hit the interval boundaries exactly
            worst = Math.max(worst, Math.abs(Erf.erf(x) - org.apache.commons.math3.special.Erf.erf(x)));
        }
        System.out.printf("erf: max abs difference to commons-math on [-10, 10]: %.3g%n", worst);
        assertTrue(worst < 1e-14, "max |erf - commons-math erf| on [-10, 10] = " + worst);
    }

    @Test
    void knownValuesAndEdges() {
        assertEquals(0.0, Erf.erf(0.0));
        assertEquals(0.8427007929497148693, Erf.erf(1.0), 3e-16);
        assertEquals(-0.9953222650189527342, Erf.erf(-2.0), 3e-16);
        assertEquals(0.5204998778130465377, Erf.erf(0.5), 3e-16);
        assertEquals(1.0, Erf.erf(30.0));
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY));
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
        assertEquals(0.8413447460685429, Erf.gelu(1.0), 1e-15);
    }
}
