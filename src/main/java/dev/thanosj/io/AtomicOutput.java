package dev.thanosj.io;

import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Writes a file or a folder under a temporary sibling name ({@code .NAME.tmp-<random>}) and renames it to
 * its final name only after the writer returned normally. On any failure, and when the JVM is interrupted
 * (a shutdown hook), the temporary is deleted. The target is replaced only by a complete output.
 */
public final class AtomicOutput {

    /** Writes the content of a file given its temporary path. */
    @FunctionalInterface
    public interface Writer {
        void write(Path temporary) throws IOException;
    }

    private AtomicOutput() {
    }

    /** Writes {@code target} (a file) through {@code writer}, atomically. */
    public static void writeFile(Path target, Writer writer) {
        write(target, false, writer);
    }

    /**
     * Writes {@code target} (a folder, created empty for the writer) through {@code writer}, atomically. An
     * existing empty folder is replaced; a non-empty one is refused before anything is written, so no
     * unrelated file is ever deleted.
     */
    public static void writeDirectory(Path target, Writer writer) {
        requireReplaceableDirectory(target, "output folder");
        write(target, true, writer);
    }

    /**
     * Throws a {@link ThanosjException} naming {@code what} unless {@code target} is absent or an empty
     * folder: what {@link #writeDirectory} may replace.
     */
    public static void requireReplaceableDirectory(Path target, String what) {
        if (Files.isDirectory(target)) {
            try (var entries = Files.list(target)) {
                if (entries.findAny().isPresent()) {
                    throw new ThanosjException(what + " " + target + " exists and is not empty;"
                            + " remove it or choose another path");
                }
            } catch (IOException e) {
                throw new ThanosjException("cannot read " + what + " " + target + ": " + e.getMessage(), e);
            }
        } else if (Files.exists(target)) {
            throw new ThanosjException(what + " " + target + " exists and is not a folder");
        }
    }

    /**
     * Throws a {@link ThanosjException} naming {@code option} when {@code output} is the same file as
     * {@code input} (or inside it), so an input is never overwritten.
     */
    public static void requireDistinct(Path input, Path output, String option) {
        Path in = input.toAbsolutePath().normalize();
        Path out = output.toAbsolutePath().normalize();
        boolean same;
        try {
            same = in.equals(out) || (Files.exists(out) && Files.isSameFile(in, out)) || out.startsWith(in);
        } catch (IOException e) {
            same = in.equals(out);
        }
        if (same) {
            throw new ThanosjException(option + " " + output + " is the input " + input
                    + "; choose another output path (inputs are never modified)");
        }
    }

    private static void write(Path target, boolean directory, Writer writer) {
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = absolute.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new ThanosjException("output folder " + parent + " does not exist (for " + target + ")");
        }
        Path temporary;
        try {
            String prefix = "." + absolute.getFileName() + ".tmp-";
            temporary = directory ? Files.createTempDirectory(parent, prefix) : Files.createTempFile(parent, prefix, "");
        } catch (IOException e) {
            throw new ThanosjException("cannot create a temporary output next to " + target + ": " + e.getMessage(), e);
        }
        Thread cleanup = new Thread(() -> deleteQuietly(temporary), "thanosj-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        boolean done = false;
        try {
            writer.write(temporary);
            if (directory && Files.isDirectory(absolute)) {
                deleteRecursively(absolute);
            }
            move(temporary, absolute);
            done = true;
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target + ": " + e.getMessage(), e);
        } finally {
            if (!done) {
                deleteQuietly(temporary);
            }
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway; nothing to undo
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            if (Files.exists(path)) {
                deleteRecursively(path);
            }
        } catch (IOException ignored) {
            // best effort: a leftover temporary has a recognisable name
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            Files.deleteIfExists(root);
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
