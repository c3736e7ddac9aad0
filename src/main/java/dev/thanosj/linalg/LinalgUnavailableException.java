package dev.thanosj.linalg;

/** A linear-algebra provider was asked for (or tried) and cannot be loaded on this machine. */
public final class LinalgUnavailableException extends RuntimeException {
    public LinalgUnavailableException(String message) {
        super(message);
    }

    public LinalgUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
