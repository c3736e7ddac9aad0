package dev.thanosj.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import picocli.CommandLine;

/** Runs the {@code thanosj} command line in-process for tests, capturing its output and exit code. */
final class Cli {
    private Cli() {
    }

    /** What one run printed and returned. */
    record Run(int code, String out, String err) {
    }

    /** Runs {@code args} as {@code thanosj args…}. */
    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        Main.configure(cli, new PrintWriter(out, true), new PrintWriter(err, true));
        int code = Main.run(cli, args);
        return new Run(code, out.toString(), err.toString());
    }

    /**
     * Runs {@code args} and checks it is a user error: exit 2, a {@code thanosj:} line mentioning
     * {@code mustMention}, no stack trace, and nothing new (not even a temporary) in {@code dir}.
     */
    static void assertUserError(Path dir, String mustMention, String... args) throws IOException {
        List<Path> before = listing(dir);
        Run run = run(args);
        assertEquals(Main.USER_ERROR, run.code(), run.out() + run.err());
        assertTrue(run.err().contains("thanosj: "), run.err());
        assertTrue(run.err().contains(mustMention), "'" + mustMention + "' in: " + run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        assertEquals(before, listing(dir), "nothing written");
    }

    private static List<Path> listing(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }
}
