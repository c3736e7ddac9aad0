package dev.thanosj.linalg;

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

    private static final class Holder {
        static final Linalg INSTANCE = choose();
    }

    /** The provider for this process. */
    public static Linalg get() {
        return Holder.INSTANCE;
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
        switch (forced) {
            case "openblas" -> chosen = OpenBlasLinalg.load();
            case "java" -> chosen = new JavaLinalg();
            case "" -> {
                Linalg openBlas;
                try {
                    openBlas = OpenBlasLinalg.load();
                } catch (LinalgUnavailableException e) {
                    fallbackReason = e.getMessage();
                    openBlas = null;
                }
                chosen = openBlas != null ? openBlas : new JavaLinalg();
            }
            default -> throw new LinalgUnavailableException("-D" + PROPERTY + "=" + forced
                    + " is not a provider; use openblas or java");
        }
        String why = forced.isEmpty()
                ? (fallbackReason == null ? "default" : "fallback: " + fallbackReason)
                : "forced by -D" + PROPERTY;
        LOG.log(Level.INFO, "linalg=" + chosen.description() + " (" + why + ")");
        return chosen;
    }
}
