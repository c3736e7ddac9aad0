package dev.thanosj.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Exit codes and messages of the command line, run in-process. */
class MainTest {

    /** What one run printed and returned. */
    record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        return run(List.of(), args);
    }

    /** Runs {@code args} with the extra {@code commands} registered as subcommands. */
    private static Run run(List<Object> commands, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        commands.forEach(cli::addSubcommand);
        Main.configure(cli, new PrintWriter(out, true), new PrintWriter(err, true));
        int code = Main.run(cli, args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void helpExitsZeroAndListsEnv() {
        Run run = run("--help");
        assertEquals(Main.OK, run.code());
        assertTrue(run.out().contains("env"), run.out());
        assertTrue(run.out().contains("--threads"), run.out());
    }

    @Test
    void envHelpExitsZero() {
        Run run = run("env", "--help");
        assertEquals(Main.OK, run.code(), run.err());
        assertTrue(run.out().startsWith("Usage: thanosj env"), run.out());
    }

    @Test
    void missingSubcommandIsAUsageError() {
        Run run = run();
        assertEquals(Main.USER_ERROR, run.code());
        assertTrue(run.err().startsWith("thanosj: Missing subcommand"), run.err());
    }

    @Test
    void unknownOptionIsAUsageError() {
        Run run = run("--no-such-option", "env");
        assertEquals(Main.USER_ERROR, run.code());
        assertTrue(run.err().startsWith("thanosj: Unknown option: '--no-such-option'"), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
    }

    @Test
    void unknownEnvOptionAndExtraArgumentAreUsageErrors() {
        Run option = run("env", "--verbose");
        assertEquals(Main.USER_ERROR, option.code());
        assertTrue(option.err().contains("thanosj env --help"), option.err());
        assertEquals(Main.USER_ERROR, run("env", "extra").code());
    }

    @Test
    void unknownSubcommandIsAUsageError() {
        assertEquals(Main.USER_ERROR, run("no-such-command").code());
    }

    @Test
    void threadsMustBePositive() {
        Run zero = run("--threads", "0", "env");
        assertEquals(Main.USER_ERROR, zero.code());
        assertTrue(zero.err().startsWith("thanosj: --threads must be at least 1"), zero.err());
        assertEquals(Main.USER_ERROR, run("--threads", "many", "env").code());
    }

    @Command(name = "user-error")
    static final class UserError implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new ThanosjException("model.safetensors: no tensor named 'w'");
        }
    }

    @Command(name = "bug")
    static final class Bug implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalStateException("a bug");
        }
    }

    @Command(name = "error")
    static final class Error implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new AssertionError("an assertion");
        }
    }

    @Test
    void thanosjExceptionPrintsOnlyItsMessage() {
        Run run = run(List.of(new UserError()), "user-error");
        assertEquals(Main.USER_ERROR, run.code());
        assertEquals("thanosj: model.safetensors: no tensor named 'w'" + System.lineSeparator(), run.err());
    }

    @Test
    void anyOtherExceptionIsABugWithAStackTrace() {
        Run bug = run(List.of(new Bug()), "bug");
        assertEquals(Main.BUG, bug.code());
        assertTrue(bug.err().contains("IllegalStateException: a bug"), bug.err());
        assertTrue(bug.err().contains("\tat "), bug.err());

        Run error = run(List.of(new Error()), "error");
        assertEquals(Main.BUG, error.code());
        assertTrue(error.err().contains("AssertionError: an assertion"), error.err());
    }

    @Test
    void envPrintsTheReport() {
        Run run = run("env");
        assertEquals(Main.OK, run.code(), run.err());
        for (String key : List.of("java:", "vm:", "os:", "cpu:", "cpu flags:", "processors:", "max heap:",
                "vector api:", "kernels:", "linalg:", "threads:")) {
            assertTrue(run.out().contains(key), key + " missing in\n" + run.out());
        }
    }

    @Test
    void cpuFlagsComeFromTheFirstFlagsLine() {
        EnvCommand.CpuInfo cpu = EnvCommand.CpuInfo.parse(List.of(
                "processor\t: 0",
                "model name\t: Test CPU 9000",
                "flags\t\t: fpu sse2 avx2 fma avx512f avx512f",
                "processor\t: 1",
                "flags\t\t: avx512fp16"));
        assertEquals("Test CPU 9000", cpu.model());
        assertEquals("avx2 fma avx512f (missing: avx512bw avx512vl avx512_bf16 avx512fp16)", cpu.flags());
        assertTrue(EnvCommand.CpuInfo.parse(List.of()).model().startsWith("unknown"));
    }
}
