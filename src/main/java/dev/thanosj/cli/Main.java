package dev.thanosj.cli;

import dev.thanosj.ThanosjException;
import dev.thanosj.concurrent.Workers;
import dev.thanosj.linalg.Linalg;
import dev.thanosj.linalg.LinalgUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The {@code thanosj} top command. Subcommands are separate classes listed in {@code subcommands} below;
 * adding one is adding its class there. Exit codes: {@value #OK} on success, {@value #USER_ERROR} for a
 * user's mistake (bad option or argument, {@link ThanosjException}, a forced linear-algebra provider that
 * cannot load): one line {@code thanosj: <message>} on stderr; {@value #BUG} for anything else, with the
 * stack trace.
 */
@Command(name = "thanosj",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "One-shot pruning of transformer weights: Thanos, SparseGPT, Wanda, magnitude.",
        subcommands = {
                EnvCommand.class,
                PruneLayerCommand.class,
                PruneCommand.class,
                EvalCommand.class,
                CompareCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable {
    /** Exit code of a successful run. */
    public static final int OK = 0;
    /** Exit code of a bug: an exception that is not the user's mistake. */
    public static final int BUG = 1;
    /** Exit code of a user's mistake. */
    public static final int USER_ERROR = 2;

    @Spec
    CommandSpec spec;

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads for Java loops, the linear-algebra library and ONNX Runtime"
                    + " (default: available processors, here ${DEFAULT-VALUE}).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand");
    }

    /** Entry point of the jar: runs {@code args} and exits with the exit code. */
    public static void main(String[] args) {
        // Before any logger exists: the provider's one INFO line becomes "thanosj: linalg=..." on stderr.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "thanosj: %5$s%n");
        }
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = run(commandLine(out, err), args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** A configured {@code thanosj} command line writing to {@code out} and {@code err}. */
    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        return configure(new CommandLine(new Main()), out, err);
    }

    /**
     * Sets the streams, exit-code policy and global options on {@code cli} and on the subcommands it has
     * now (picocli copies these settings to existing subcommands only); returns {@code cli}.
     */
    static CommandLine configure(CommandLine cli, PrintWriter out, PrintWriter err) {
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionStrategy(Main::execute);
        cli.setParameterExceptionHandler(Main::onParameterError);
        cli.setExecutionExceptionHandler((e, command, parsed) -> onFailure(e, command.getErr()));
        return cli;
    }

    /** Runs {@code args} on {@code cli} and returns the exit code; never throws. */
    static int run(CommandLine cli, String... args) {
        try {
            return cli.execute(args);
        } catch (Throwable t) { // whatever escaped picocli's handlers (an Error, or a failure in a handler)
            return onFailure(t, cli.getErr());
        }
    }

    /** Applies the global options, then runs the last subcommand given (picocli's {@code RunLast}). */
    private static int execute(ParseResult parsed) {
        if (CommandLine.printHelpIfRequested(parsed)) {
            return OK;
        }
        List<CommandLine> commands = parsed.asCommandLineList();
        Object last = commands.get(commands.size() - 1).getCommand();
        if (commands.size() > 1 && !(last instanceof CommandLine.HelpCommand)) {
            Main main = parsed.commandSpec().commandLine().getCommand();
            main.applyThreads();
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    /** Sizes the worker pool and the linear-algebra library's threads from {@code --threads}. */
    private void applyThreads() {
        if (threads < 1) {
            throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
        }
        Workers.setThreads(threads);
        try {
            Linalg.get().setThreads(threads);
        } catch (LinalgUnavailableException e) {
            // Left to the command: whatever uses linear algebra gets this failure from Linalg.get() again,
            // and `env` reports it next to everything else.
        }
    }

    private static int onParameterError(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        err.println("thanosj: " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try '" + command.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return USER_ERROR;
    }

    private static int onFailure(Throwable t, PrintWriter err) {
        if (isUserError(t)) {
            err.println("thanosj: " + t.getMessage());
            err.flush();
            return USER_ERROR;
        }
        t.printStackTrace(err);
        err.flush();
        return BUG;
    }

    /** A mistake the user can fix: reported as one line, exit code {@value #USER_ERROR}. */
    static boolean isUserError(Throwable t) {
        return t instanceof ThanosjException || t instanceof LinalgUnavailableException
                || t instanceof ParameterException;
    }

    /** {@code thanosj --version}: the version Maven recorded in the jar. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"thanosj " + version(), "Java " + Runtime.version() + " ("
                    + System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + ")"};
        }

        /** The project version from the jar's Maven metadata, or {@code unknown} outside the jar. */
        static String version() {
            try (InputStream in = Main.class.getResourceAsStream("/META-INF/maven/dev.thanosj/thanosj/pom.properties")) {
                if (in == null) {
                    return "unknown";
                }
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
