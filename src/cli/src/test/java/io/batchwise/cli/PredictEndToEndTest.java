package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} writes model.bw; {@code predict} on it reports the accuracy {@code train} reported (same backend and
 * threads), with the confusion matrix and per-class metrics; {@code export} turns the checkpoint into the same model
 * file, and refuses a checkpoint of another model. Needs Fashion-MNIST (skipped without it, a failure under CI).
 */
class PredictEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void predictReportsTheAccuracyTrainReported() throws IOException {
        Path data = Cli.dataOrSkip();
        Path out = tmp.resolve("mlp");
        String backend = Cli.fastBackend();
        Cli.Result train = Cli.run("train", "--model", "mlp", "--train-limit", "2048", "--epochs", "1", "--backend", backend,
                "--data", data.toString(), "--out", out.toString());
        assertEquals(0, train.code(), train.toString());
        Path model = out.resolve(TrainCommand.MODEL_FILE);
        assertTrue(Files.isRegularFile(model) && train.out().contains("model " + model), train.out());
        double trained = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("test_accuracy").asDouble();

        Cli.Result predict = Cli.run("predict", "--model-file", model.toString(), "--backend", backend, "--data", data.toString());
        assertEquals(0, predict.code(), predict.toString());
        assertEquals(trained, predict.predict().evaluation.accuracy(), predict.toString());
        assertTrue(predict.out().contains(String.format(Locale.ROOT, "%naccuracy %.4f on 10,000 samples%n", trained)), predict.out());
        assertTrue(predict.out().contains("confusion matrix") && predict.out().contains("9 Ankle boot")
                && predict.out().contains("precision") && predict.out().contains("top-2 accuracy"), predict.out());
        long[][] m = predict.predict().evaluation.confusionMatrix();
        long sum = 0;
        for (long[] row : m) {
            for (long v : row) {
                sum += v;
            }
        }
        assertEquals(10_000, sum);

        // export: the checkpoint's weights as the same model file, byte for byte.
        Path exported = tmp.resolve("exported.bw");
        Cli.Result export = Cli.run("export", "--checkpoint", out.resolve(TrainCommand.CHECKPOINT_FILE).toString(), "--model", "mlp",
                "--out", exported.toString());
        assertEquals(0, export.code(), export.toString());
        assertArrayEquals(Files.readAllBytes(model), Files.readAllBytes(exported));

        // A checkpoint of another graph, or a checkpoint given as a model file: refused, naming the file and an offset.
        Path ckpt = out.resolve(TrainCommand.CHECKPOINT_FILE);
        Cli.Result wrong = Cli.run("export", "--checkpoint", ckpt.toString(), "--model", "lenet", "--out", tmp.resolve("x.bw").toString());
        assertEquals(Main.FAILED, wrong.code(), wrong.toString());
        assertTrue(wrong.err().contains(ckpt + " was written for another graph") && wrong.err().contains("offset 8"), wrong.err());
        assertTrue(!Files.exists(tmp.resolve("x.bw")));
        Cli.Result notModel = Cli.run("predict", "--model-file", ckpt.toString(), "--data", data.toString());
        assertEquals(Main.FAILED, notModel.code(), notModel.toString());
        assertTrue(notModel.err().contains("is a Batchwise checkpoint") && notModel.err().contains("offset 0"), notModel.err());
    }
}
