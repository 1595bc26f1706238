package io.batchwise.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The short version of {@code benchmarks/reliability/memory.sh}: {@link ResidentMemory} for 40,000 stochastic steps
 * in a JVM of its own (surefire's heap is neither fixed nor pre-touched), 20,000 of them after the warm-up.
 *
 * <p>Bounds. The resident size (about 190 MiB: 64 MiB of heap, the JVM, oneDNN) grows by less than 1% over the
 * measured steps, the long run's criterion: 1% is about 1.9 MiB, against about 230 KiB measured here (late JIT
 * compilation, see {@link ResidentMemory}), so a leak of more than about 95 bytes per step fails it. And JavaCPP's
 * count of live native objects does not grow by more than 64: every step, evaluation and epoch would otherwise leave
 * thousands (a descriptor, memory object or primitive not closed), while the objects a few steps have made and the
 * collector has not yet freed number tens.
 */
class ResidentMemoryTest {
    private static final Pattern RESULT = Pattern.compile("resident memory: steps ([\\d,]+) .*VmRSS warm-up \\(([\\d,]+) steps\\)"
            + " ([\\d,]+) KiB, end ([\\d,]+) KiB, .*JavaCPP objects ([\\d,]+) -> ([\\d,]+), heap \\d+ MiB pre-touched, .*");

    @Test
    void residentMemoryDoesNotGrowOverAStochasticRun() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch",
                "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-cp", System.getProperty("java.class.path"),
                ResidentMemory.class.getName(), "40000").redirectErrorStream(true);
        // One oneDNN thread: at batch 1 a second one only spin-waits, slowing the run up to tenfold on a busy machine.
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), out);
        System.out.print(out);
        List<String> lines = out.lines().filter(l -> l.startsWith("resident memory: ")).toList();
        assertEquals(1, lines.size(), out);
        Matcher m = RESULT.matcher(lines.get(0));
        assertTrue(m.matches(), "unexpected result line (heap not pre-touched?): " + lines.get(0));
        assertEquals(40_000, number(m, 1));
        assertEquals(20_000, number(m, 2), "warm-up steps");
        long warm = number(m, 3);
        long end = number(m, 4);
        assertTrue(end - warm < 0.01 * warm, "VmRSS grew from " + warm + " to " + end + " KiB");
        assertTrue(number(m, 6) <= number(m, 5) + 64, "JavaCPP objects: " + number(m, 5) + " -> " + number(m, 6));
        assertEquals(0, p.exitValue(), out);
    }

    private static long number(Matcher m, int group) {
        return Long.parseLong(m.group(group).replace(",", ""));
    }
}
