package dev.thanosj.linalg;

import dev.thanosj.linalg.Linalg.Triangle;
import java.util.SplittableRandom;

/**
 * Runs the {@link LinalgContractTest} checks on {@link JavaLinalg} in a JVM of its own, so that
 * {@link JavaLinalgTest} can start it with {@code -XX:MaxVectorSize} (a smaller preferred species) or
 * {@code -XX:-UseFMA}. Prints the species it ran with; a failed check ends it with an exception.
 */
public final class SmallSpeciesCheck {
    private SmallSpeciesCheck() {
    }

    /** Checks every operation on shapes around the vector width and the block sizes; writes one line to stdout. */
    public static void main(String[] args) {
        int lanes = JavaGemm.L;
        int[] sizes = {1, 2, lanes - 1, lanes, lanes + 1, 2 * lanes + 1, 6, 7, 13, 33, 70};
        Linalg la = new JavaLinalg();
        SplittableRandom rnd = new SplittableRandom(2024);
        for (int i = 0; i < 24; i++) {
            int m = pick(rnd, sizes);
            int n = pick(rnd, sizes);
            int k = pick(rnd, sizes);
            LinalgContractTest.checkGemm(la, m, n, k, rnd.nextBoolean(), rnd.nextBoolean(), 1.5f, i % 3 == 0 ? 0f : -1f,
                    rnd.nextLong());
            LinalgContractTest.checkSyrk(la, n, k, rnd.nextBoolean(), -1f, i % 2 == 0 ? 0f : 1f, true, rnd.nextLong());
            LinalgContractTest.checkTriangular(la, true, m, n, i % 8, 2f, rnd.nextLong());
            LinalgContractTest.checkTriangular(la, false, m, n, (i + 3) % 8, -1f, rnd.nextLong());
            Triangle uplo = i % 2 == 0 ? Triangle.LOWER : Triangle.UPPER;
            LinalgContractTest.checkPotrf(la, m, uplo, rnd.nextLong());
            LinalgContractTest.checkPotri(la, n, uplo, rnd.nextLong());
            LinalgContractTest.checkPosv(la, k, 1 + rnd.nextInt(2 * lanes + 2), rnd.nextLong());
            LinalgContractTest.checkNotPositiveDefinite(la, m, rnd.nextInt(m), uplo, i % 4 == 0 ? Float.NaN : -1f);
        }
        LinalgContractTest.checkGemm(la, 150, 530, 300, true, false, 1f, 1f, 1);
        LinalgContractTest.checkPotrf(la, 300, Triangle.UPPER, 2);
        LinalgContractTest.checkTriangular(la, true, 300, 70, 5, 1f, 3);
        System.out.println("ok " + la.description());
    }

    private static int pick(SplittableRandom rnd, int[] values) {
        return values[rnd.nextInt(values.length)];
    }
}
