package dev.thanosj.prune;

import java.util.LinkedHashMap;
import java.util.Map;

/** Wall time per phase of one pruning run, in the order the phases first ran; phases may recur (per block). */
final class Phases {
    private final Map<String, Long> nanos = new LinkedHashMap<>();
    private long mark = System.nanoTime();

    /** Charges the time since the previous mark to {@code phase} and starts a new mark. */
    void lap(String phase) {
        long now = System.nanoTime();
        nanos.merge(phase, now - mark, Long::sum);
        mark = now;
    }

    /** Declares phases up front so they are reported in this order. */
    void declare(String... phases) {
        for (String p : phases) {
            nanos.putIfAbsent(p, 0L);
        }
    }

    /** Forgets a declared phase that did not run. */
    void remove(String phase) {
        nanos.remove(phase);
    }

    Map<String, Double> seconds() {
        Map<String, Double> out = new LinkedHashMap<>();
        nanos.forEach((k, v) -> out.put(k, v / 1e9));
        return out;
    }
}
