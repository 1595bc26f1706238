package io.batchwise.onednn;

import io.batchwise.DataType;
import io.batchwise.Graph;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Executor;
import io.batchwise.backend.GradientMode;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.Pass;
import io.batchwise.backend.Plan;
import io.batchwise.backend.PlanOptions;
import io.batchwise.loss.SoftmaxCrossEntropy;
import io.batchwise.loss.Targets;
import io.batchwise.models.Models;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Training-step throughput (forward, loss, backward) of the built-in models at micro-batch 128; run
 * with {@code -Dbatchwise.bench=true} on an otherwise idle machine (oneDNN's OpenMP threads spin).
 */
@EnabledIfSystemProperty(named = "batchwise.bench", matches = "true")
class OneDnnThroughputBench {

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "lenet", "resnet-small"})
    void samplesPerSecond(String model) {
        Backend backend = new OneDnnBackend();
        Graph g = Models.byName(model);
        int b = 128;
        int steps = model.equals("resnet-small") ? 10 : 200;
        float[] x = OneDnnSmokeTest.random(b * 28 * 28, 1);
        int[] labels = new int[b];
        for (int i = 0; i < b; i++) {
            labels[i] = i % 10;
        }
        Targets t = Targets.labels(labels);
        try (Parameters p = backend.createParameters(g, DataType.FLOAT32).initialize(1);
             Plan plan = backend.plan(g, b, PlanOptions.forTraining());
             Executor ex = plan.bind(p)) {
            for (int round = 0; round < 3; round++) {
                long start = System.nanoTime();
                for (int s = 0; s < steps; s++) {
                    ex.input().write(x);
                    ex.forward(Pass.training(s, 0));
                    ex.loss(new SoftmaxCrossEntropy(), t, 1.0 / b);
                    ex.backward(GradientMode.OVERWRITE);
                }
                double sec = (System.nanoTime() - start) / 1e9;
                System.out.printf("%s b=%d round %d: %.0f samples/s (%.2f ms/step)%n", model, b, round, steps * b / sec,
                        1000 * sec / steps);
            }
        }
    }
}
