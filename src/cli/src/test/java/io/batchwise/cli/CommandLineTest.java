package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Flags, help and the errors users meet, through the real command line (no data needed). */
class CommandLineTest {
    @TempDir
    Path tmp;

    @Test
    void helpForEachCommand() {
        Cli.Result top = Cli.run("--help");
        assertEquals(0, top.code(), top.toString());
        assertTrue(top.out().contains("train") && top.out().contains("plan") && top.out().contains("advise"), top.toString());

        Cli.Result train = Cli.run("train", "--help");
        assertEquals(0, train.code(), train.toString());
        for (String flag : new String[] {"--model", "--data", "--batch", "--micro-batch", "--memory-budget", "--backend",
                "--optimizer", "--lr", "--schedule", "--epochs", "--steps", "--train-limit", "--seed", "--checkpoint",
                "--resume", "--out", "--noise-scale", "--adaptive-batch", "--batch-norm", "--precision"}) {
            assertTrue(train.out().contains(flag), flag + " missing from help:\n" + train.out());
        }
        assertTrue(train.out().contains("Default: lenet") && train.out().contains("Default: adam"), train.out());

        Cli.Result plan = Cli.run("plan", "--help");
        assertEquals(0, plan.code(), plan.toString());
        assertTrue(plan.out().contains("--memory-budget"), plan.out());

        Cli.Result advise = Cli.run("advise", "--help");
        assertEquals(0, advise.code(), advise.toString());
        for (String flag : new String[] {"--model", "--data", "--batch", "--micro-batch", "--memory-budget", "--backend",
                "--optimizer", "--lr", "--train-limit", "--seed", "--probe-steps", "--probe-seconds"}) {
            assertTrue(advise.out().contains(flag), flag + " missing from advise help:\n" + advise.out());
        }
        assertTrue(advise.out().contains("B_simple") && advise.out().contains("linear scaling"), advise.out());
    }

    @Test
    void noCommandIsAnError() {
        Cli.Result r = Cli.run();
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("train, plan, advise, predict or export"), r.toString());
    }

    @ParameterizedTest
    @CsvSource({
        "--batch, lots",
        "--batch, 0",
        "--micro-batch, -3",
        "--micro-batch, big",
        "--memory-budget, plenty",
        "--optimizer, lbfgs",
        "--model, vgg",
        "--epochs, 0",
        "--steps, ten",
        "--lr, -1",
        "--schedule, zigzag",
        "--train-limit, 0",
        "--seed, one",
        "--weight-decay, -0.1",
        "--adaptive-batch, 0",
        "--adaptive-batch, -5",
        "--batch-norm, perfect",
        "--precision, fp16",
    })
    void badValueNamesTheFlag(String flag, String value) {
        Cli.Result r = Cli.run("train", flag, value, "--out", tmp.toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("'" + flag + "'"), "error should name " + flag + ":\n" + r);
        assertTrue(r.err().contains(value), r.toString());
        assertTrue(r.err().contains("batchwise train --help"), r.toString());
    }

    @ParameterizedTest
    @CsvSource({
        "--probe-steps, 0",
        "--probe-seconds, -1",
        "--batch, 1",
        "--micro-batch, none",
    })
    void adviseBadValueNamesTheFlag(String flag, String value) {
        Cli.Result r = Cli.run("advise", flag, value, "--data", tmp.resolve("none").toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("'" + flag + "'"), "error should name " + flag + ":\n" + r);
        assertTrue(r.err().contains("batchwise advise --help"), r.toString());
    }

    @Test
    void adaptiveCapBelowTheBatchIsRefused() {
        Path data = Cli.dataOrSkip();
        Cli.Result r = Cli.run("train", "--batch", "64", "--adaptive-batch", "32", "--backend", "reference", "--train-limit", "100",
                "--data", data.toString(), "--out", tmp.toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("'--adaptive-batch'") && r.err().contains("less than the effective batch 64"), r.toString());
    }

    @Test
    void unknownFlagIsNamed() {
        Cli.Result r = Cli.run("plan", "--batchsize", "64");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--batchsize"), r.toString());
    }

    @Test
    void unknownBackendListsTheAvailableOnes() {
        Cli.Result r = Cli.run("plan", "--backend", "tpu");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("'--backend'") && r.err().contains("unknown backend 'tpu'"), r.toString());
        assertTrue(r.err().contains("reference") && r.err().contains("auto"), r.toString());
    }

    /** Asked for explicitly where it cannot run (no driver, no GPU, no cuDNN), cudnn says why; auto then picks onednn. */
    @Test
    void cudnnWithoutAGpuSaysWhy() {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.batchwise.backend.Backends.all().stream()
                .anyMatch(b -> b.name().equals("cudnn") && io.batchwise.backend.Backends.availability(b).available()),
                "this machine can run cudnn");
        Cli.Result r = Cli.run("train", "--backend", "cudnn", "--out", tmp.toString());
        assertTrue(r.code() != 0, r.toString());
        assertTrue(r.err().contains("backend 'cudnn' cannot run here"), r.toString());
        Cli.Result plan = Cli.run("plan", "--model", "lenet");
        assertEquals(0, plan.code(), plan.toString());
        assertTrue(plan.out().contains("skipped cudnn"), plan.toString());
    }

    @Test
    void budgetTooSmallShowsThePlannersMessage() {
        Cli.Result r = Cli.run("plan", "--model", "lenet", "--backend", "reference", "--memory-budget", "64KiB");
        assertEquals(Main.FAILED, r.code(), r.toString());
        assertTrue(r.err().contains("memory budget is 64.0 KiB") && r.err().contains("raise the budget"), r.toString());
    }

    @Test
    void explicitMicroBatchOverAnExplicitBudgetSaysWhatFits() {
        Cli.Result r = Cli.run("plan", "--model", "mlp", "--backend", "reference", "--batch", "4096",
                "--micro-batch", "4096", "--memory-budget", "8MiB");
        assertEquals(Main.FAILED, r.code(), r.toString());
        assertTrue(r.err().contains("--micro-batch 4096") && r.err().contains("largest micro-batch that fits is"), r.toString());
    }

    @Test
    void planSplitsABatchThatDoesNotFit() {
        Cli.Result r = Cli.run("plan", "--model", "mlp", "--backend", "reference", "--batch", "4096", "--memory-budget", "8MiB");
        assertEquals(0, r.code(), r.toString());
        String p = r.plan().printed;
        assertTrue(p.contains("backend     reference"), p);
        assertTrue(p.contains("effective 4,096"), p);
        assertTrue(p.contains("predicted peak") && p.contains("8.0 MiB"), p);
        assertTrue(p.contains("planner"), p);
        // the planner had to split: more than one accumulation step
        assertTrue(!p.contains("accumulation steps 1\n") && !p.contains("accumulation steps 1" + System.lineSeparator()), p);
    }

    @Test
    void planWithAnExplicitMicroBatchAndFullBatch() {
        Cli.Result r = Cli.run("plan", "--model", "lenet", "--backend", "reference", "--batch", "full",
                "--micro-batch", "1000", "--train-limit", "10000");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("full-batch of 10000 samples") && r.out().contains("accumulation steps 10"), r.out());
        assertTrue(r.out().contains("as given by --micro-batch"), r.out());
    }

    @Test
    void missingDataFolderSaysHowToGetIt() {
        Path none = tmp.resolve("nothing-here");
        Cli.Result r = Cli.run("train", "--backend", "reference", "--data", none.toString(), "--out", tmp.resolve("out").toString());
        assertEquals(Main.FAILED, r.code(), r.toString());
        assertTrue(r.err().contains(none.toString()) && r.err().contains("dataset-fashion-mnist"), r.toString());
    }

    @Test
    void resumeWithoutACheckpointStartsFromTheBeginning() throws java.io.IOException {
        Path data = Cli.dataOrSkip();
        Path out = tmp.resolve("fresh");
        Cli.Result r = Cli.run("train", "--backend", "reference", "--model", "mlp", "--train-limit", "64", "--steps", "2",
                "--data", data.toString(), "--resume", "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("no checkpoint " + out.resolve("last.ckpt") + " yet; starting from the beginning"), r.toString());
        assertEquals(3, java.nio.file.Files.readAllLines(out.resolve("metrics.csv")).size(), "header and two steps");
        assertEquals(false, r.train().summary.get("resumed"));
    }
}
