package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code batchwise train} process, ended abruptly (kill -9) or asked to stop (SIGTERM), then
 * resumed with the same command line and {@code --resume}: the final checkpoint is byte for byte the
 * one an uninterrupted run writes. The short version of {@code benchmarks/reliability.sh kills}; the
 * number of kills is {@code -Dbatchwise.kills} (default 3), their moments drawn from {@code -Dbatchwise.killSeed}.
 */
class CrashResumeTest {
    private static final int KILLS = Integer.getInteger("batchwise.kills", 3);
    private static final long SEED = Long.getLong("batchwise.killSeed", 20261205L);

    @TempDir
    static Path tmp;
    private static byte[] straight; // the uninterrupted run's final checkpoint
    private static long straightMillis;

    /** LeNet-5 on 4,096 samples, 2 epochs of 128 steps, a checkpoint every 7 steps besides those by time and epoch. */
    private static List<String> job(Path out) {
        return List.of("train", "--model", "lenet", "--train-limit", "4096", "--epochs", "2", "--checkpoint-every", "7",
                "--backend", Cli.fastBackend(), "--data", Cli.dataOrSkip().toString(), "--out", out.toString());
    }

    @BeforeAll
    static void uninterrupted() throws Exception {
        Path out = tmp.resolve("straight");
        long t0 = System.nanoTime();
        Process p = start(out, job(out));
        assertEquals(0, p.waitFor(), () -> log(out));
        straightMillis = (System.nanoTime() - t0) / 1_000_000;
        straight = Files.readAllBytes(out.resolve(TrainCommand.CHECKPOINT_FILE));
    }

    @Test
    void killedAtRandomMomentsResumesToTheSameCheckpoint() throws Exception {
        Path out = tmp.resolve("killed");
        List<String> resume = new ArrayList<>(job(out));
        resume.add("--resume"); // from the first start on: without a checkpoint it starts from the beginning
        SplittableRandom r = new SplittableRandom(SEED);
        List<String> moments = new ArrayList<>();
        for (int i = 0; i < KILLS; i++) {
            long at = r.nextLong(straightMillis + 1);
            Process p = start(out, resume);
            if (p.waitFor(at, TimeUnit.MILLISECONDS)) {
                moments.add(at + " ms: had ended (" + p.exitValue() + ")");
                assertEquals(0, p.exitValue(), () -> log(out));
                continue;
            }
            p.destroyForcibly().waitFor(); // SIGKILL
            moments.add(at + " ms: killed");
            assertFalse(Files.exists(out.resolve("hs_err.log")));
        }
        Process last = start(out, resume);
        assertEquals(0, last.waitFor(), () -> moments + "\n" + log(out));
        long killed = moments.stream().filter(m -> m.endsWith("killed")).count();
        System.out.printf("kill -9: %d of %d starts killed (uninterrupted run %d ms; moments %s)%n", killed, KILLS, straightMillis,
                moments);
        assertArrayEquals(straight, Files.readAllBytes(out.resolve(TrainCommand.CHECKPOINT_FILE)),
                "final checkpoint after kills at " + moments + "\n" + log(out));
    }

    @Test
    void sigtermFinishesTheStepCheckpointsAndResumes() throws Exception {
        Path out = tmp.resolve("terminated");
        List<String> args = job(out);
        Process p = start(out, args);
        Path ckpt = out.resolve(TrainCommand.CHECKPOINT_FILE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(ckpt) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5); // the first checkpoint (step 7) means training has started
        }
        assertTrue(p.isAlive(), "the run ended before it could be stopped: " + log(out));
        p.destroy(); // SIGTERM
        assertEquals(143, p.waitFor(), () -> log(out));
        String printed = Files.readString(out.resolve("stdout.txt"));
        assertTrue(printed.contains("stopped     at epoch") && printed.contains("resume with ./batchwise train")
                && printed.contains(" --resume"), printed);
        assertTrue(Files.readString(out.resolve("stderr.txt")).contains("SIGTERM: finishing the current step"), log(out));

        List<String> resume = new ArrayList<>(args);
        resume.add("--resume");
        Process again = start(out, resume);
        assertEquals(0, again.waitFor(), () -> log(out));
        assertArrayEquals(straight, Files.readAllBytes(ckpt), () -> log(out));
    }

    /** {@code java ... io.batchwise.cli.Main ARGS} with this test's class path and one oneDNN thread (so results repeat). */
    private static Process start(Path out, List<String> args) throws IOException {
        Files.createDirectories(out);
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
                "-Djava.awt.headless=true", "-XX:ErrorFile=" + out.resolve("hs_err.log"), "io.batchwise.cli.Main"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(out.resolve("stdout.txt").toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(out.resolve("stderr.txt").toFile()));
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb.start();
    }

    private static String log(Path out) {
        try {
            return "--- stdout\n" + Files.readString(out.resolve("stdout.txt")) + "--- stderr\n"
                    + Files.readString(out.resolve("stderr.txt"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
