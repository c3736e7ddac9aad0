package dev.thanosj;

/**
 * A mistake of the user's (a bad option, file, tensor or model) or a numerical failure the user can act
 * on. The message names the file, tensor or option at fault; the CLI prints it and exits with code 2.
 */
public class ThanosjException extends RuntimeException {
    public ThanosjException(String message) {
        super(message);
    }

    public ThanosjException(String message, Throwable cause) {
        super(message, cause);
    }
}
