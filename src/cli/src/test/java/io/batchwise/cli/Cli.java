package io.batchwise.cli;

import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import picocli.CommandLine;

/** Runs the batchwise command in this JVM, as Main does, capturing what it prints. */
final class Cli {
    private Cli() {
    }

    /** Exit code, standard output and error, and the commands (to read what they computed). */
    record Result(int code, String out, String err, CommandLine commandLine) {
        TrainCommand train() {
            return (TrainCommand) commandLine.getSubcommands().get("train").getCommand();
        }

        PlanCommand plan() {
            return (PlanCommand) commandLine.getSubcommands().get("plan").getCommand();
        }

        AdviseCommand advise() {
            return (AdviseCommand) commandLine.getSubcommands().get("advise").getCommand();
        }

        PredictCommand predict() {
            return (PredictCommand) commandLine.getSubcommands().get("predict").getCommand();
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- out\n" + out + "\n--- err\n" + err;
        }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true), false);
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString(), cl);
    }

    /** oneDNN when it can run here (faster), else the reference backend. */
    static String fastBackend() {
        for (Backend b : Backends.all()) {
            if (b.name().equals("onednn") && b.availability().available()) {
                return "onednn";
            }
        }
        return "reference";
    }

    /**
     * The Fashion-MNIST folder. When it is missing: a failure under CI (CI installs the package),
     * otherwise the test is skipped with a message.
     */
    static Path dataOrSkip() {
        Path dir = FashionMnist.defaultDir();
        boolean present = Files.isRegularFile(dir.resolve(FashionMnist.TRAIN_IMAGES + ".gz"))
                || Files.isRegularFile(dir.resolve(FashionMnist.TRAIN_IMAGES));
        if (!present) {
            String message = "Fashion-MNIST is not in " + dir + ": install the package dataset-fashion-mnist"
                    + " or set " + FashionMnist.ENV;
            if (System.getenv("CI") != null) {
                throw new AssertionError(message + " (required under CI)");
            }
            Assumptions.abort(message + "; skipping");
        }
        return dir;
    }
}
