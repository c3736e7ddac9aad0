package dev.thanosj.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The key selections of {@link Selection} against a sort. */
class SelectionTest {

    @Test
    void selectInWindowIsTheSortedKeyAtEveryRankAndLeavesTheKeysAlone() {
        SplittableRandom random = new SplittableRandom(17);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + random.nextInt(3000);
            int lo = random.nextInt(1 << 30);
            // narrow windows (one bucket per bit value), wide ones (shifted buckets), and heavy ties
            int width = switch (trial % 3) {
                case 0 -> random.nextInt(1000);
                case 1 -> random.nextInt(Integer.MAX_VALUE - lo);
                default -> 3;
            };
            long[] keys = new long[n];
            for (int i = 0; i < n; i++) {
                long bits = lo + (width == 0 ? 0 : random.nextInt(width + 1));
                keys[i] = bits << 32 | random.nextInt(1 << 20);
            }

            long[] sorted = keys.clone();
            Arrays.sort(sorted);
            for (int index : new int[] {0, n / 3, n / 2, n - 1, random.nextInt(n)}) {
                int split = random.nextInt(n + 1); // the keys in two parts, as the ranges of a region give them
                long[][] parts = {Arrays.copyOf(keys, split + 3), Arrays.copyOfRange(keys, split, n)};
                assertEquals(sorted[index], Selection.selectInWindow(parts, new long[] {split, n - split}, index, lo,
                        lo + width), "trial " + trial + " n " + n + " index " + index);
                assertArrayEquals(Arrays.copyOf(keys, split), Arrays.copyOf(parts[0], split));
            }
        }
    }

    @Test
    void theFullBitRangeWorksAsAWindow() {
        long[][] keys = {{(long) Integer.MAX_VALUE << 32, 0L, 5L << 32 | 1, 5L << 32}};
        long[] n = {4};
        assertEquals(0L, Selection.selectInWindow(keys, n, 0, 0, Integer.MAX_VALUE));
        assertEquals(5L << 32, Selection.selectInWindow(keys, n, 1, 0, Integer.MAX_VALUE));
        assertEquals(5L << 32 | 1, Selection.selectInWindow(keys, n, 2, 0, Integer.MAX_VALUE));
        assertEquals((long) Integer.MAX_VALUE << 32, Selection.selectInWindow(keys, n, 3, 0, Integer.MAX_VALUE));
    }
}
