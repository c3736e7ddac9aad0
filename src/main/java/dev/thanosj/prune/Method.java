package dev.thanosj.prune;

import dev.thanosj.ThanosjException;
import java.util.Arrays;
import java.util.Locale;

/** The pruning methods. */
public enum Method {
    MAGNITUDE,
    WANDA,
    SPARSEGPT,
    THANOS;

    /** The lower-case name used on the command line and in reports. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a method name (case-insensitive); a {@link ThanosjException} lists the valid ones otherwise. */
    public static Method parse(String name) {
        for (Method m : values()) {
            if (m.id().equalsIgnoreCase(name.trim())) {
                return m;
            }
        }
        throw new ThanosjException("--method " + name + " is not a method; use one of "
                + Arrays.stream(values()).map(Method::id).toList());
    }
}
