package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --precision bf16} through the commands: the plan table names the precision and fits about twice the
 * micro-batch; LeNet-5 trained in bf16 mixed precision learns as float32 does. Skipped where the CPU has no native
 * bf16 (the backend refuses it, naming the missing ISA) or where oneDNN is missing.
 */
class Bf16EndToEndTest {
    @TempDir
    Path tmp;

    private static void assumeBf16(Cli.Result r) {
        assumeTrue(!(r.code() != 0 && r.err().contains("native bf16")), () -> "no native bf16 here: " + r.err());
    }

    private static int microBatch(String plan) {
        Matcher m = Pattern.compile("micro-batch ([0-9,]+),").matcher(plan);
        assertTrue(m.find(), plan);
        return Integer.parseInt(m.group(1).replace(",", ""));
    }

    @Test
    void planShowsThePrecisionAndFitsAboutTwiceTheMicroBatch() {
        assumeTrue(Cli.fastBackend().equals("onednn"), "oneDNN is not available");
        Cli.Result f32 = Cli.run("plan", "--model", "resnet-small", "--batch", "4096", "--memory-budget", "64MiB",
                "--backend", "onednn");
        Cli.Result bf16 = Cli.run("plan", "--model", "resnet-small", "--batch", "4096", "--memory-budget", "64MiB",
                "--backend", "onednn", "--precision", "bf16");
        assumeBf16(bf16);
        assertEquals(0, f32.code(), f32.toString());
        assertEquals(0, bf16.code(), bf16.toString());
        assertTrue(f32.out().contains("precision fp32"), f32.out());
        assertTrue(bf16.out().contains("precision bf16"), bf16.out());
        int a = microBatch(f32.out());
        int b = microBatch(bf16.out());
        assertTrue(b >= 1.8 * a, "bf16 micro-batch " + b + " vs fp32 " + a + "\n" + bf16.out());
    }

    /**
     * 313 steps of batch 32 on 10,000 Fashion-MNIST images: bf16 reaches the accuracy float32 reaches with the same
     * seed and hyper-parameters within 3 points (one epoch on 10,000 samples gives about 0.8; a run that does not
     * learn stays near 0.1).
     */
    @Test
    void lenetLearnsInBf16AsInFloat32() {
        Path data = Cli.dataOrSkip();
        assumeTrue(Cli.fastBackend().equals("onednn"), "oneDNN is not available");
        Cli.Result bf16 = Cli.run("train", "--model", "lenet", "--train-limit", "10000", "--epochs", "1", "--backend", "onednn",
                "--precision", "bf16", "--data", data.toString(), "--out", tmp.resolve("bf16").toString());
        assumeBf16(bf16);
        assertEquals(0, bf16.code(), bf16.toString());
        Cli.Result f32 = Cli.run("train", "--model", "lenet", "--train-limit", "10000", "--epochs", "1", "--backend", "onednn",
                "--data", data.toString(), "--out", tmp.resolve("f32").toString());
        assertEquals(0, f32.code(), f32.toString());
        assertEquals("bf16", bf16.train().summary.get("precision"));
        assertEquals("fp32", f32.train().summary.get("precision"));
        double a = (double) bf16.train().summary.get("test_accuracy");
        double b = (double) f32.train().summary.get("test_accuracy");
        assertTrue(a >= 0.75, "bf16 test accuracy " + a + "\n" + bf16);
        assertTrue(Math.abs(a - b) <= 0.03, "bf16 " + a + " vs fp32 " + b);
        assertTrue(bf16.out().contains("precision bf16"), bf16.out());
    }
}
