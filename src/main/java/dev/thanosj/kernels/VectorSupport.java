package dev.thanosj.kernels;

import dev.thanosj.ThanosjException;
import java.util.Locale;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * Decides, Lucene-style, whether the Vector API kernels may be used: the {@code jdk.incubator.vector}
 * module must be in the boot layer (the JVM was started with {@code --add-modules=jdk.incubator.vector})
 * and its preferred float species must be at least 128 bits wide. The system property
 * {@value #PROPERTY} ({@code scalar} or {@code panama}) forces the answer; forcing {@code panama} where it
 * is not available is an error, never a silent fallback.
 */
public final class VectorSupport {
    /** System property that forces the kernels: {@code scalar} or {@code panama}. */
    public static final String PROPERTY = "thanosj.kernels";

    /** Name of the incubator module that holds the Vector API. */
    public static final String MODULE = "jdk.incubator.vector";

    /** Narrowest preferred species worth vectorising for. */
    static final int MIN_BIT_SIZE = 128;

    private VectorSupport() {
    }

    /**
     * What was detected and what was decided.
     *
     * @param modulePresent   whether {@value #MODULE} is in the boot layer
     * @param preferredBitSize bit size of the preferred float species, 0 when the module is absent
     * @param usePanama       whether the Vector API kernels should be used
     * @param reason          why, in a few words ({@code "default"}, {@code "forced by -Dthanosj.kernels"}, …)
     */
    public record Status(boolean modulePresent, int preferredBitSize, boolean usePanama, String reason) {

        /** One line for logs and {@code thanosj env}. */
        public String describe() {
            String species = modulePresent
                    ? "preferred species " + preferredBitSize + "-bit (" + preferredBitSize / Float.SIZE + " floats)"
                    : MODULE + " not in the boot layer";
            return (usePanama ? "used" : "not used") + ", " + species + " (" + reason + ")";
        }
    }

    /**
     * Detects the Vector API and applies {@value #PROPERTY}.
     *
     * @throws ThanosjException when the property has an unknown value, or forces {@code panama} where the
     *                          Vector API is not available
     */
    public static Status status() {
        boolean present = ModuleLayer.boot().findModule(MODULE).isPresent();
        // A lambda, not a method reference: PanamaProbe is resolved only if the lambda runs, i.e. when the
        // module is present.
        return decide(System.getProperty(PROPERTY), present, () -> PanamaProbe.preferredBitSize());
    }

    /** Whether HotSpot uses hardware FMA instructions ({@code -XX:+UseFMA}, on by default where the CPU has them). */
    static boolean hardwareFma() {
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.HotSpotDiagnosticMXBean.class);
            return Boolean.parseBoolean(bean.getVMOption("UseFMA").getValue());
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** The decision of {@link #status()} for the given inputs; {@code bitSize} is only called when present. */
    static Status decide(String forced, boolean modulePresent, IntSupplier bitSize) {
        String choice = Optional.ofNullable(forced).orElse("").trim().toLowerCase(Locale.ROOT);
        int bits = modulePresent ? bitSize.getAsInt() : 0;
        String unavailable = !modulePresent
                ? MODULE + " is not in the boot layer (start the JVM with --add-modules=" + MODULE + ")"
                : bits < MIN_BIT_SIZE
                        ? "the preferred vector size is " + bits + " bits, below " + MIN_BIT_SIZE
                        : null;
        return switch (choice) {
            case "" -> unavailable == null
                    ? new Status(true, bits, true, "default")
                    : new Status(modulePresent, bits, false, "fallback: " + unavailable);
            case "scalar" -> new Status(modulePresent, bits, false, "forced by -D" + PROPERTY + "=scalar");
            case "panama" -> {
                if (unavailable != null) {
                    throw new ThanosjException("-D" + PROPERTY + "=panama, but the Vector API cannot be used: "
                            + unavailable);
                }
                yield new Status(true, bits, true, "forced by -D" + PROPERTY + "=panama");
            }
            default -> throw new ThanosjException("-D" + PROPERTY + "=" + forced
                    + " is not a choice; use scalar or panama");
        };
    }
}
