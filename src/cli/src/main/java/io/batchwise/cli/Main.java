package io.batchwise.cli;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code batchwise} command: {@code train}, {@code plan}, {@code advise}, {@code predict} and {@code export}.
 * Exit status 0 on success, 2 for a bad command line (the message names the flag), 1 when the run fails (missing or
 * corrupt data, a budget too small, a backend that cannot run here).
 */
@Command(name = "batchwise", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        subcommands = {TrainCommand.class, PlanCommand.class, AdviseCommand.class, PredictCommand.class, ExportCommand.class,
                CommandLine.HelpCommand.class},
        description = {"Train neural networks with the batch size as a planned, exact quantity.", ""},
        footer = {"", "Run 'batchwise COMMAND --help' (train, plan, advise, predict, export) for its flags."})
public final class Main implements Runnable {
    /** Exit status when a run fails for a reason other than the command line. */
    static final int FAILED = 1;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing a command: train, plan, advise, predict or export");
    }

    public static void main(String[] args) {
        System.exit(execute(args, TrainEngine.LOCAL));
    }

    /**
     * Runs the {@code batchwise} command line {@code args} (e.g. {@code train --model mlp ...}) on standard output and
     * error, {@code train} computing its steps with {@code engine}; returns the exit status. For entry points of other
     * modules (batchwise-spark's {@code SparkTrain}).
     */
    public static int execute(String[] args, TrainEngine engine) {
        System.setProperty("java.awt.headless", "true");
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        String tty = System.getProperty("batchwise.tty");
        boolean terminal = tty != null ? Boolean.parseBoolean(tty) : System.console() != null;
        int code = execute(args, engine, out, err, terminal);
        out.flush();
        err.flush();
        return code;
    }

    /** {@link #execute(String[], TrainEngine)} writing to {@code out} and {@code err}. */
    public static int execute(String[] args, TrainEngine engine, PrintWriter out, PrintWriter err, boolean terminal) {
        CommandLine cl = commandLine(out, err, terminal);
        ((TrainCommand) cl.getSubcommands().get("train").getCommand()).engine = java.util.Objects.requireNonNull(engine);
        return cl.execute(args);
    }

    /** The command line with its subcommands, writing to {@code out} and {@code err}. */
    static CommandLine commandLine(PrintWriter out, PrintWriter err, boolean terminal) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setUsageHelpAutoWidth(terminal);
        cl.setParameterExceptionHandler(Main::badCommandLine);
        cl.setExecutionExceptionHandler((e, line, parsed) -> failed(e, line));
        ((TrainCommand) cl.getSubcommands().get("train").getCommand()).terminal = terminal;
        return cl;
    }

    /** A bad flag or value: the message (which names the flag) and where to find help, not the whole usage. */
    private static int badCommandLine(ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println(cl.getCommandName().equals("batchwise") ? "batchwise: " + e.getMessage()
                : "batchwise " + cl.getCommandName() + ": " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try 'batchwise " + (cl.getCommandName().equals("batchwise") ? "" : cl.getCommandName() + " ") + "--help'.");
        err.flush();
        return cl.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** A run that failed: the message for errors users meet, the stack trace for anything else. */
    private static int failed(Exception e, CommandLine cl) {
        PrintWriter err = cl.getErr();
        boolean expected = e instanceof IOException || e instanceof UncheckedIOException || e instanceof IllegalArgumentException
                || e instanceof IllegalStateException;
        err.println("batchwise " + cl.getCommandName() + ": error: " + e.getMessage());
        if (!expected || System.getenv("BATCHWISE_DEBUG") != null) {
            e.printStackTrace(err);
        }
        err.flush();
        return FAILED;
    }

    /** The version from the jar's manifest, when there is one. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"batchwise " + (v != null ? v : "0.1.0-SNAPSHOT")};
        }
    }
}
