package io.batchwise.cudnn;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs this module's GPU test classes from a plain {@code java} command line, for machines without
 * Maven (src/cudnn/gpu-suite.sh): {@code java -cp ... io.batchwise.cudnn.GpuSuite [class ...]}. Prints
 * each test's outcome and a summary; exits 1 when a test failed, else 2 when the backend is unavailable
 * (the GPU tests were skipped: not a pass of the GPU suite), else 0.
 */
public final class GpuSuite {
    /** The GPU suites, then the device-free ones as a control. */
    static final List<String> DEFAULT = List.of("CudnnKernelsTest", "CudnnDeviceTest", "CudnnConformanceTest",
            "CudnnTrainingTest", "CudnnBf16ConformanceTest", "CudnnBf16TrainingTest", "CudnnPlannerTest", "CudnnAvailabilityTest",
            "SimulatedConformanceTest");

    private GpuSuite() {
    }

    public static void main(String[] args) {
        var a = new CudnnBackend().availability();
        System.out.println("cudnn backend: " + (a.available() ? "available: " : "UNAVAILABLE: ") + a.reason());
        List<String> names = args.length > 0 ? List.of(args) : DEFAULT;
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String n : names) {
            request.selectors(selectClass(n.contains(".") ? n : "io.batchwise.cudnn." + n));
        }
        LauncherDiscoveryRequest r = request.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        List<String> skipped = new ArrayList<>();
        TestExecutionListener printer = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest() || result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    System.out.printf("%-10s %s%s%n", result.getStatus(), id.getDisplayName(),
                            result.getThrowable().map(t -> "\n           " + t).orElse(""));
                }
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                skipped.add(id.getDisplayName() + ": " + reason);
                System.out.printf("%-10s %s: %s%n", "SKIPPED", id.getDisplayName(), reason);
            }
        };
        launcher.execute(r, summary, printer);
        TestExecutionSummary s = summary.getSummary();
        s.printFailuresTo(new PrintWriter(System.out), 30);
        s.printTo(new PrintWriter(System.out));
        System.out.flush();
        System.exit(s.getTotalFailureCount() > 0 ? 1 : a.available() ? 0 : 2);
    }
}
