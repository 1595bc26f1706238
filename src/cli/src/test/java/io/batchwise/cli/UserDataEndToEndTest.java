package io.batchwise.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} on the user's own table or image folders, without Java: a model from {@code --layers} (or the default
 * for the input's shape), the usual outputs plus {@code data.json}; {@code predict} on the same kind of data reports the
 * accuracy {@code train} reported; bad files and flags are refused with the line and column or the flag.
 */
class UserDataEndToEndTest {
    private static final String[] SPECIES = {"setosa", "versicolor", "virginica"};

    @TempDir
    Path tmp;

    /** Three Gaussian blobs in 4 features, the label (a name) in the third of five columns. */
    private Path table(String name, int rows, long seed) throws IOException {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder("a,b,species,c,d\n");
        for (int i = 0; i < rows; i++) {
            int k = r.nextInt(3);
            double[] f = new double[4];
            for (int j = 0; j < 4; j++) {
                f[j] = 10 + 3 * (j == k ? 1 : 0) + 2 * (k == 2 && j == 3 ? 1 : 0) + 0.5 * r.nextGaussian();
            }
            sb.append(String.format(Locale.ROOT, "%.3f,%.3f,%s,%.3f,%.3f%n", f[0], f[1], SPECIES[k], f[2], f[3]));
            if (i % 50 == 7) {
                sb.append('\n'); // empty lines are skipped
            }
        }
        Path p = tmp.resolve(name);
        Files.writeString(p, sb.toString());
        return p;
    }

    private static JsonNode summary(Path out) throws IOException {
        return new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    }

    @Test
    void trainOnACsvTableThenPredictOnIt() throws IOException {
        Path train = table("train.csv", 300, 1);
        Path test = table("test.csv", 90, 2);
        Path out = tmp.resolve("run");
        String backend = Cli.fastBackend();
        Cli.Result r = Cli.run("train", "--data-csv", train.toString(), "--test-csv", test.toString(), "--label", "species",
                "--layers", "dense:16", "--epochs", "10", "--batch", "16", "--backend", backend, "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        for (String f : new String[] {"metrics.csv", "epochs.csv", "plan.txt", "summary.json", "training.png", "last.ckpt",
                "model.bw", "data.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode s = summary(out);
        assertEquals("layers dense:16", s.get("model").asText());
        assertEquals(300, s.get("train_samples").asInt());
        assertEquals(90, s.get("test_samples").asInt());
        assertEquals("[\"setosa\",\"versicolor\",\"virginica\"]", s.get("classes").toString());
        assertEquals(4 * 16 + 16 + 16 * 3 + 3, s.get("parameters").asInt()); // (4) -> 16 -> 3
        double accuracy = s.get("test_accuracy").asDouble();
        assertTrue(accuracy >= 0.9, "blobs 6 standard deviations apart: " + accuracy);
        JsonNode spec = new ObjectMapper().readTree(out.resolve("data.json").toFile());
        assertEquals("species", spec.get("label").asText());
        assertEquals(4, spec.get("standardization").get("mean").size());
        assertEquals(10.0, spec.get("standardization").get("mean").get(0).asDouble(), 1.5);

        Cli.Result p = Cli.run("predict", "--model-file", out.resolve("model.bw").toString(), "--data-csv", test.toString(),
                "--backend", backend);
        assertEquals(0, p.code(), p.toString());
        assertEquals(accuracy, p.predict().evaluation.accuracy(), p.toString());
        assertTrue(p.out().contains(String.format(Locale.ROOT, "accuracy %.4f on 90 samples", accuracy)), p.out());
        assertTrue(p.out().contains("virginica"), p.out());

        // Prefetching the next micro-batch changes nothing in the result: the same model file, byte for byte.
        Path pre = tmp.resolve("prefetch");
        Cli.Result r2 = Cli.run("train", "--data-csv", train.toString(), "--test-csv", test.toString(), "--label", "species",
                "--layers", "dense:16", "--epochs", "10", "--batch", "16", "--backend", backend, "--out", pre.toString(), "--prefetch");
        assertEquals(0, r2.code(), r2.toString());
        assertTrue(summary(pre).get("prefetch").asBoolean());
        assertArrayEquals(Files.readAllBytes(out.resolve("model.bw")), Files.readAllBytes(pre.resolve("model.bw")));
    }

    /** plan, advise and export take train's data and model flags: the same table gives the same model. */
    @Test
    void planAdviseAndExportTakeTrainsDataFlags() throws IOException {
        Path train = table("train.csv", 300, 1);
        Path test = table("test.csv", 90, 2);
        String[] data = {"--data-csv", train.toString(), "--test-csv", test.toString(), "--label", "species"};
        int parameters = 4 * 16 + 16 + 16 * 3 + 3; // (4) -> 16 -> 3

        // plan: the described model of the table's shape and classes, the batch counted in the table's rows.
        Cli.Result plan = Cli.run(concat(new String[] {"plan", "--layers", "dense:16", "--batch", "full", "--backend", "reference"},
                data));
        assertEquals(0, plan.code(), plan.toString());
        String printed = plan.plan().printed;
        assertTrue(printed.contains(String.format(Locale.ROOT, "model       layers dense:16: %,d parameters, input (4)", parameters)),
                printed);
        assertTrue(printed.contains("effective 300 (full-batch of 300 training samples (CSV " + train), printed);
        // Without --layers: the default for a table's shape; without --test-csv, --test-fraction is held out.
        Cli.Result byShape = Cli.run("plan", "--data-csv", train.toString(), "--label", "species", "--backend", "reference",
                "--batch", "full");
        assertEquals(0, byShape.code(), byShape.toString());
        assertTrue(byShape.plan().printed.contains("layers " + ModelDescription.DEFAULT_TABLE + ":"), byShape.plan().printed);
        assertTrue(byShape.plan().printed.contains("effective 270 (full-batch of 270 training samples"), byShape.plan().printed);
        // A built-in model that does not take the table, and flags that exclude each other: refused, naming the flag.
        Cli.Result lenet = Cli.run(concat(new String[] {"plan", "--model", "lenet", "--backend", "reference"}, data));
        assertEquals(2, lenet.code(), lenet.toString());
        assertTrue(lenet.err().contains("'--model'") && lenet.err().contains("--layers"), lenet.toString());
        Cli.Result both = Cli.run("plan", "--model", "mlp", "--layers", "dense:4");
        assertEquals(2, both.code(), both.toString());
        assertTrue(both.err().contains("--model and --layers are exclusive"), both.toString());

        // advise: probes the same model on the same rows, and its suggested command trains it.
        Cli.Result advise = Cli.run(concat(new String[] {"advise", "--layers", "dense:16", "--batch", "16", "--backend", "reference",
                "--memory-budget", "64MiB", "--probe-steps", "20", "--probe-seconds", "20"}, data));
        assertEquals(0, advise.code(), advise.toString());
        assertTrue(advise.out().contains(String.format(Locale.ROOT, "layers dense:16: %,d parameters; 300 training samples of CSV",
                parameters)), advise.out());
        String tryLine = advise.out().lines().filter(l -> l.startsWith("try ")).findFirst().orElseThrow();
        for (String flag : new String[] {" --data-csv " + train, " --test-csv " + test, " --label species", " --layers dense:16"}) {
            assertTrue(tryLine.contains(flag), flag + " missing from " + tryLine);
        }
        List<String> again = new java.util.ArrayList<>(List.of(tryLine.substring(tryLine.indexOf("batchwise train") + 10).split(" ")));
        Path out = tmp.resolve("advised");
        again.addAll(List.of("--epochs", "1", "--backend", "reference", "--out", out.toString()));
        Cli.Result trained = Cli.run(again.toArray(String[]::new));
        assertEquals(0, trained.code(), "the command advise printed: " + again + "\n" + trained);
        assertEquals(parameters, summary(out).get("parameters").asInt());

        // export: the checkpoint of that run, named by the same flags, is the model file train wrote; data.json comes along.
        Path exported = tmp.resolve("elsewhere").resolve("iris.bw");
        Files.createDirectories(exported.getParent());
        Cli.Result export = Cli.run(concat(new String[] {"export", "--checkpoint", out.resolve(TrainCommand.CHECKPOINT_FILE).toString(),
                "--layers", "dense:16", "--out", exported.toString()}, data));
        assertEquals(0, export.code(), export.toString());
        assertArrayEquals(Files.readAllBytes(out.resolve("model.bw")), Files.readAllBytes(exported));
        assertArrayEquals(Files.readAllBytes(out.resolve("data.json")), Files.readAllBytes(exported.resolveSibling("data.json")));
        Cli.Result wider = Cli.run(concat(new String[] {"export", "--checkpoint", out.resolve(TrainCommand.CHECKPOINT_FILE).toString(),
                "--layers", "dense:32", "--out", tmp.resolve("x.bw").toString()}, data));
        assertEquals(Main.FAILED, wider.code(), wider.toString());
        assertTrue(wider.err().contains("another graph"), wider.toString());
        Cli.Result noModel = Cli.run("export", "--checkpoint", out.resolve(TrainCommand.CHECKPOINT_FILE).toString(), "--out",
                tmp.resolve("y.bw").toString());
        assertEquals(2, noModel.code(), noModel.toString());
        assertTrue(noModel.err().contains("--model NAME, or the data flags and --layers"), noModel.toString());
    }

    /** plan --layers without data: a described model for Fashion-MNIST's shape, planned without reading the data. */
    @Test
    void planADescribedModelForFashionMnistWithoutData() {
        Cli.Result r = Cli.run("plan", "--layers", "conv:4,pool,dense:8", "--backend", "reference", "--batch", "64");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.plan().printed.contains("model       layers conv:4,pool,dense:8: ") && r.plan().printed.contains("input (1, 28, 28)"),
                r.plan().printed);
        assertTrue(!r.out().contains("data        "), r.out());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void severalCsvFilesAreShardsReadWhenNeeded() throws IOException {
        Path whole = table("whole.csv", 300, 1);
        List<String> lines = Files.readAllLines(whole);
        Path[] shards = new Path[3];
        for (int i = 0; i < 3; i++) { // the header, then every third row
            StringBuilder sb = new StringBuilder(lines.get(0)).append('\n');
            for (int j = 1 + i; j < lines.size(); j += 3) {
                sb.append(lines.get(j)).append('\n');
            }
            shards[i] = tmp.resolve("shard" + i + ".csv");
            Files.writeString(shards[i], sb.toString());
        }
        Path test = table("test.csv", 90, 2);
        Path out = tmp.resolve("sharded");
        String backend = Cli.fastBackend();
        Cli.Result r = Cli.run("train", "--data-csv", shards[0].toString(), "--data-csv", shards[1].toString(), "--data-csv",
                shards[2].toString(), "--shard-window", "2", "--test-csv", test.toString(), "--label", "species", "--layers",
                "dense:16", "--epochs", "10", "--batch", "16", "--backend", backend, "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        JsonNode s = summary(out);
        assertEquals(300, s.get("train_samples").asInt());
        assertTrue(s.get("data").asText().contains("3 shards"), s.get("data").asText());
        double accuracy = s.get("test_accuracy").asDouble();
        assertTrue(accuracy >= 0.9, "blobs 6 standard deviations apart: " + accuracy);
        Cli.Result p = Cli.run("predict", "--model-file", out.resolve("model.bw").toString(), "--data-csv", test.toString(),
                "--backend", backend);
        assertEquals(0, p.code(), p.toString());
        assertEquals(accuracy, p.predict().evaluation.accuracy(), p.toString());
        // Shards without a test file: refused (nothing is held out of streamed data).
        Cli.Result noTest = Cli.run("train", "--data-csv", shards[0].toString(), "--data-csv", shards[1].toString());
        assertEquals(2, noTest.code(), noTest.toString());
        assertTrue(noTest.err().contains("need --test-csv"), noTest.err());
    }

    @Test
    void withoutATestFileAShareIsHeldOutAndTheModelFollowsTheShape() throws IOException {
        Path train = table("t.csv", 200, 3);
        Path out = tmp.resolve("held");
        Cli.Result r = Cli.run("train", "--data-csv", train.toString(), "--label", "3", "--epochs", "1", "--backend",
                Cli.fastBackend(), "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        JsonNode s = summary(out);
        assertEquals(180, s.get("train_samples").asInt());
        assertEquals(20, s.get("test_samples").asInt());
        assertEquals("layers " + ModelDescription.DEFAULT_TABLE, s.get("model").asText());
        assertTrue(r.out().contains("10% held out for testing"), r.out());
    }

    @Test
    void badFilesAndFlagsAreRefusedClearly() throws IOException {
        Path bad = tmp.resolve("bad.csv");
        Files.writeString(bad, "a,b,y\n1,2,0\n1,x,1\n");
        Cli.Result r = Cli.run("train", "--data-csv", bad.toString(), "--out", tmp.resolve("o1").toString());
        assertEquals(Main.FAILED, r.code(), r.toString());
        assertTrue(r.err().contains(bad + ":3:2: 'x' is not a number (column 'b')"), r.err());

        Path ok = table("ok.csv", 50, 4);
        r = Cli.run("train", "--data-csv", ok.toString(), "--label", "species", "--model", "lenet", "--out", tmp.resolve("o2").toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--layers"), r.err());
        r = Cli.run("train", "--data-csv", ok.toString(), "--label", "species", "--layers", "dense:0", "--out", tmp.resolve("o3").toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("Invalid value for option '--layers': 'dense:0'"), r.err());
        r = Cli.run("train", "--data-csv", ok.toString(), "--data-images", tmp.toString());
        assertEquals(2, r.code(), r.toString());
        r = Cli.run("train", "--data-csv", ok.toString(), "--label", "0");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--label"), r.err());
    }

    /** 8x8 grey images: class "left" bright on the left half, "right" on the right, with noise. */
    private Path images(String name, int perClass, long seed) throws IOException {
        Random r = new Random(seed);
        Path root = tmp.resolve(name);
        for (String cls : new String[] {"left", "right"}) {
            Files.createDirectories(root.resolve(cls));
            for (int i = 0; i < perClass; i++) {
                BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < 8; y++) {
                    for (int x = 0; x < 8; x++) {
                        boolean bright = cls.equals("left") == (x < 4);
                        int v = (bright ? 180 : 60) + r.nextInt(40);
                        img.getRaster().setSample(x, y, 0, v);
                    }
                }
                ImageIO.write(img, "png", root.resolve(cls).resolve(String.format(Locale.ROOT, "%03d.png", i)).toFile());
            }
        }
        Files.writeString(root.resolve("left").resolve("notes.txt"), "skipped: no image suffix");
        return root;
    }

    @Test
    void trainOnImageFoldersThenPredictOnThem() throws IOException {
        Path train = images("train", 40, 5);
        Path test = images("test", 10, 6);
        Path out = tmp.resolve("img");
        String backend = Cli.fastBackend();
        Cli.Result r = Cli.run("train", "--data-images", train.toString(), "--test-images", test.toString(), "--image-size", "8x8",
                "--layers", "conv:4,pool,dense:8", "--epochs", "5", "--batch", "8", "--backend", backend, "--out", out.toString());
        assertEquals(0, r.code(), r.toString());
        JsonNode s = summary(out);
        assertEquals(80, s.get("train_samples").asInt());
        assertEquals(20, s.get("test_samples").asInt());
        double accuracy = s.get("test_accuracy").asDouble();
        assertTrue(accuracy >= 0.9, "halves 120 grey levels apart: " + accuracy);
        Cli.Result p = Cli.run("predict", "--model-file", out.resolve("model.bw").toString(), "--data-images", test.toString(),
                "--backend", backend);
        assertEquals(0, p.code(), p.toString());
        assertEquals(accuracy, p.predict().evaluation.accuracy(), p.toString());
        // A CSV given to a model trained on images: refused by data.json.
        Cli.Result wrong = Cli.run("predict", "--model-file", out.resolve("model.bw").toString(), "--data-csv",
                table("x.csv", 5, 7).toString());
        assertEquals(Main.FAILED, wrong.code(), wrong.toString());
        assertTrue(wrong.err().contains("trained on images, not a CSV table"), wrong.err());
    }
}
