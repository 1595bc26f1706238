package io.batchwise.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.Shape;
import io.batchwise.loss.Targets;
import io.batchwise.train.InMemoryDataset;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CSV/TSV reading: header and delimiter rules, label columns and classes, and errors naming file, line and column. */
class CsvFormatTest {
    @TempDir
    Path dir;

    private Path file(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    static float[] inputs(InMemoryDataset d) {
        int[] idx = new int[d.size()];
        java.util.Arrays.setAll(idx, i -> i);
        float[] x = new float[d.size() * d.sampleShape().sizeAsInt()];
        d.copyInputs(idx, 0, d.size(), x);
        return x;
    }

    static int[] labels(InMemoryDataset d) {
        int[] idx = new int[d.size()];
        java.util.Arrays.setAll(idx, i -> i);
        Targets.Labels l = (Targets.Labels) d.targets(idx, 0, d.size());
        int[] y = new int[d.size()];
        java.util.Arrays.setAll(y, l::label);
        return y;
    }

    private static DataFormatException refused(Path p, CsvFormat f) {
        return assertThrows(DataFormatException.class, () -> f.read(p));
    }

    @Test
    void headerDetectedClassNamesSortedEmptyLinesSkipped() throws IOException {
        Path p = file("iris.csv", "sepal,petal,species\n\n5.1,1.4,setosa\n  \n7.0,4.7,versicolor\n6.3,6.0,virginica\n4.9,1.4,setosa\n");
        LabelledData d = CsvFormat.defaults().read(p);
        assertEquals(Shape.of(2), d.dataset().sampleShape());
        assertEquals(4, d.dataset().size());
        assertEquals(List.of("sepal", "petal"), d.features());
        assertEquals(List.of("setosa", "versicolor", "virginica"), d.classes());
        assertArrayEquals(new int[] {0, 1, 2, 0}, labels(d.dataset()));
        assertArrayEquals(new float[] {5.1f, 1.4f, 7.0f, 4.7f, 6.3f, 6.0f, 4.9f, 1.4f}, inputs(d.dataset()));
    }

    @Test
    void noHeaderWholeNumberLabelsAreClassIndices() throws IOException {
        Path p = file("t.csv", "1,2,3\n-4.5e1,.5,0\n+7,8.,2\n");
        LabelledData d = CsvFormat.defaults().read(p);
        assertEquals(3, d.dataset().size());
        assertEquals(List.of("column 1", "column 2"), d.features());
        assertEquals(List.of("0", "1", "2", "3"), d.classes()); // the largest label + 1
        assertArrayEquals(new int[] {3, 0, 2}, labels(d.dataset()));
        assertArrayEquals(new float[] {1, 2, -45, 0.5f, 7, 8}, inputs(d.dataset()));
        // Forced to read the first row as a header: one row less.
        assertEquals(2, CsvFormat.defaults().withHeader(true).read(p).dataset().size());
    }

    @Test
    void tsvByExtensionAndDelimiterDetectedOrGiven() throws IOException {
        LabelledData tsv = CsvFormat.defaults().read(file("t.tsv", "a\tb\tlabel\n1\t2\tx\n3\t4\ty\n"));
        assertArrayEquals(new float[] {1, 2, 3, 4}, inputs(tsv.dataset()));
        // ';' occurs most often in the first line, so "1,5" (a decimal comma) is one field, and not a number.
        DataFormatException semi = refused(file("t.txt", "a;b;label\n1,5;2;x\n"), CsvFormat.defaults());
        assertTrue(semi.getMessage().contains(":2:1: '1,5' is not a number (column 'a')"), semi.getMessage());
        Path pipe = file("p.csv", "1|2|0\n3|4|1\n");
        assertArrayEquals(new float[] {1, 2, 3, 4}, inputs(CsvFormat.defaults().read(pipe).dataset()));
        DataFormatException e = refused(pipe, CsvFormat.defaults().withDelimiter(','));
        assertTrue(e.getMessage().contains("only one column"), e.getMessage());
    }

    @Test
    void labelByNameByColumnAndFromTheEnd() throws IOException {
        Path p = file("l.csv", "id,kind,x\n1,cat,0.5\n2,dog,0.25\n");
        LabelledData byName = CsvFormat.defaults().withLabel("kind").read(p);
        assertEquals(List.of("id", "x"), byName.features());
        assertEquals(List.of("cat", "dog"), byName.classes());
        assertArrayEquals(new float[] {1, 0.5f, 2, 0.25f}, inputs(byName.dataset()));
        LabelledData byColumn = CsvFormat.defaults().withLabelColumn(2).read(p);
        assertArrayEquals(inputs(byName.dataset()), inputs(byColumn.dataset()));
        LabelledData fromEnd = CsvFormat.defaults().withLabelColumn(-2).read(p);
        assertArrayEquals(inputs(byName.dataset()), inputs(fromEnd.dataset()));
        assertTrue(refused(p, CsvFormat.defaults().withLabel("colour")).getMessage().contains("no column 'colour' in the header [id, kind, x]"));
        assertTrue(refused(p, CsvFormat.defaults().withLabelColumn(4)).getMessage().contains("label column 4 is outside the 3 columns"));
        Path noHeader = file("n.csv", "1,2,0\n");
        assertTrue(refused(noHeader, CsvFormat.defaults().withLabel("y").withHeader(false)).getMessage().contains("has no header"));
    }

    @Test
    void givenClassesMapATestFileTheSameWay() throws IOException {
        Path train = file("train.csv", "x,y\n1,b\n2,c\n");
        Path test = file("test.csv", "x,y\n3,c\n4,a\n");
        LabelledData tr = CsvFormat.defaults().read(train);
        assertEquals(List.of("b", "c"), tr.classes());
        CsvFormat fixed = CsvFormat.defaults().withClasses(tr.classes());
        DataFormatException e = refused(test, fixed);
        assertEquals(3, e.line());
        assertEquals(2, e.column());
        assertTrue(e.getMessage().contains("label 'a' is not one of the 2 classes [b, c]"), e.getMessage());
        LabelledData te = CsvFormat.defaults().withClasses(List.of("a", "b", "c")).read(test);
        assertArrayEquals(new int[] {2, 0}, labels(te.dataset()));
        // Whole-number labels against whole-number classes: "07" is class 7.
        Path digits = file("d.csv", "1,07\n");
        List<String> ten = List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
        assertArrayEquals(new int[] {7}, labels(CsvFormat.defaults().withClasses(ten).read(digits).dataset()));
    }

    @Test
    void errorsNameTheFileLineAndColumn() throws IOException {
        CsvFormat f = CsvFormat.defaults();
        // Line numbers count the skipped empty lines: the bad rows are on lines 4, 5, ...
        Path missing = file("m.csv", "a,b,y\n1,2,0\n\n1,,0\n");
        DataFormatException e = refused(missing, f);
        assertEquals(missing, e.file());
        assertEquals(4, e.line());
        assertEquals(2, e.column());
        assertTrue(e.getMessage().startsWith(missing + ":4:2: missing value (column 'b')"), e.getMessage());

        e = refused(file("na.csv", "a,b,y\n1,NA,0\n"), f);
        assertEquals(2, e.line());
        assertTrue(e.getMessage().contains("missing value ('NA')"), e.getMessage());

        e = refused(file("nn.csv", "1,2,0\n3,x7,1\n"), f);
        assertEquals(2, e.line());
        assertEquals(2, e.column());
        assertTrue(e.getMessage().contains("'x7' is not a number"), e.getMessage());

        e = refused(file("hex.csv", "1,2,0\n1,0x10,0\n"), f); // Java would parse these; people do not write them
        assertTrue(e.getMessage().contains("'0x10' is not a number"), e.getMessage());

        e = refused(file("w.csv", "a,b,y\n1,2,0\n\n\n1,2,3,0\n"), f);
        assertEquals(5, e.line());
        assertEquals(0, e.column());
        assertTrue(e.getMessage().contains("4 fields, but the header has 3"), e.getMessage());

        e = refused(file("short.csv", "1,2,0\n1,0\n"), f);
        assertTrue(e.getMessage().contains(":2: 2 fields, but the first row has 3"), e.getMessage());

        e = refused(file("label.csv", "a,y\n1,\n"), f);
        assertEquals(2, e.column());
        assertTrue(e.getMessage().contains("missing label"), e.getMessage());

        e = refused(file("empty.csv", "a,b,y\n\n"), f);
        assertTrue(e.getMessage().contains("no data rows after the header"), e.getMessage());

        e = refused(file("quote.csv", "1,2,0\n1,\"2,0\n"), f);
        assertTrue(e.getMessage().contains(":2: cannot parse the row"), e.getMessage());
    }

    @Test
    void quotedFieldsAndAByteOrderMark() throws IOException {
        Path p = file("q.csv", "\uFEFF\"a\",\"b, c\",y\n\" 1 \",2,\"x, y\"\n");
        LabelledData d = CsvFormat.defaults().read(p);
        assertEquals(List.of("a", "b, c"), d.features());
        assertEquals(List.of("x, y"), d.classes());
        assertArrayEquals(new float[] {1, 2}, inputs(d.dataset()));
    }

    @Test
    void formatsAreImmutable() {
        CsvFormat a = CsvFormat.defaults();
        CsvFormat b = a.withDelimiter('\t').withHeader(false).withLabel("y");
        assertTrue(a.delimiter().isEmpty() && a.header().isEmpty() && a.labelName().isEmpty());
        assertEquals('\t', b.delimiter().orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> a.withLabelColumn(0));
        assertThrows(IllegalArgumentException.class, () -> a.withClasses(List.of("a", "a")));
    }
}
