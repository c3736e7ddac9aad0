package dev.thanosj.linalg;

import dev.thanosj.concurrent.Workers;
import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Chooses the {@link Linalg} implementation once per process, on a fixed ladder: the system property
 * {@code thanosj.linalg} ({@code openblas} or {@code java}) forces a choice, and a forced choice that
 * cannot load is an error; otherwise OpenBLAS (bundled, then system) and, when it cannot load, the
 * pure-Java implementation. The choice and its reason are logged once.
 */
public final class LinalgProvider {
    /** System property that forces the provider. */
    public static final String PROPERTY = "thanosj.linalg";

    private static final System.Logger LOG = System.getLogger(LinalgProvider.class.getName());

    private LinalgProvider() {
    }

    /** The choice, made on first use; a failure to load is kept and thrown again on every later call. */
    private static final class Holder {
        static final Linalg INSTANCE;
        static final LinalgUnavailableException FAILURE;

        static {
            Linalg chosen = null;
            LinalgUnavailableException failure = null;
            try {
                chosen = choose();
            } catch (LinalgUnavailableException e) {
                failure = e;
            }
            INSTANCE = chosen;
            FAILURE = failure;
        }
    }

    /**
     * The provider for this process.
     *
     * @throws LinalgUnavailableException when the forced provider cannot load (every call, not only the first)
     */
    public static Linalg get() {
        if (Holder.FAILURE != null) {
            throw new LinalgUnavailableException(Holder.FAILURE.getMessage(), Holder.FAILURE);
        }
        return Holder.INSTANCE;
    }

    /**
     * A new instance of the named provider ({@code openblas} or {@code java}), outside the process-wide
     * choice; for benchmarks and tests that compare providers in one JVM.
     *
     * @throws LinalgUnavailableException when the name is unknown or that provider cannot load here
     */
    public static Linalg create(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "openblas" -> OpenBlasLinalg.load();
            case "java" -> new JavaLinalg();
            default -> throw new LinalgUnavailableException("'" + name + "' is not a linalg provider; use openblas or java");
        };
    }

    /** Why the fallback was chosen, or null when OpenBLAS loaded or was forced off. */
    private static volatile String fallbackReason;

    /** The reason OpenBLAS was not used, when the pure-Java provider was chosen by fallback; else null. */
    public static String fallbackReason() {
        get();
        return fallbackReason;
    }

    private static Linalg choose() {
        String forced = System.getProperty(PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        Linalg chosen;
        if (forced.isEmpty()) {
            try {
                chosen = create("openblas");
            } catch (LinalgUnavailableException e) {
                fallbackReason = e.getMessage();
                chosen = create("java");
            }
        } else if (forced.equals("openblas") || forced.equals("java")) {
            try {
                chosen = create(forced);
            } catch (LinalgUnavailableException e) {
                throw new LinalgUnavailableException("-D" + PROPERTY + "=" + forced + ", but it cannot load: "
                        + e.getMessage(), e);
            }
        } else {
            throw new LinalgUnavailableException("-D" + PROPERTY + "=" + forced
                    + " is not a provider; use openblas or java");
        }
        String why = forced.isEmpty()
                ? (fallbackReason == null ? "default" : "fallback: " + fallbackReason)
                : "forced by -D" + PROPERTY;
        chosen.setThreads(Workers.threads()); // as many as the worker pool (--threads sized it already)
        LOG.log(Level.INFO, "linalg=" + chosen.description() + " (" + why + ")");
        return chosen;
    }
}
