package dev.thanosj.model.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Points DJL at a writable cache folder before its first use: DJL copies its native tokenizer library into
 * {@code DJL_CACHE_DIR} (default {@code ~/.djl.ai}). Unless the user set {@code DJL_CACHE_DIR} (environment
 * or system property), it becomes {@code $XDG_CACHE_HOME/thanosj/djl} or {@code ~/.cache/thanosj/djl}, and
 * DJL is told to stay offline ({@code ai.djl.offline}).
 */
public final class NativeCache {
    private NativeCache() {
    }

    /** Sets DJL's cache folder and offline mode (system properties) unless the user chose them; idempotent. */
    public static synchronized void configureDjl() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getenv("DJL_CACHE_DIR") != null || System.getProperty("DJL_CACHE_DIR") != null) {
            return;
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        Path dir = base.resolve("thanosj").resolve("djl");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            dir = Path.of(System.getProperty("java.io.tmpdir"), "thanosj-" + System.getProperty("user.name"), "djl");
        }
        System.setProperty("DJL_CACHE_DIR", dir.toString());
    }
}
