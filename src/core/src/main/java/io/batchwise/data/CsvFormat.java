package io.batchwise.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How to read a CSV or TSV table: every column a number except one label column. Immutable: each {@code with...}
 * returns a new format. {@link #read} parses with Apache Commons CSV (RFC 4180 quoting; values trimmed).
 *
 * <p>Defaults, and the rules they follow:
 * <ul>
 * <li><b>delimiter</b>: a {@code .tsv} or {@code .tab} file is tab-separated; otherwise the one of {@code , TAB ; |}
 *     that occurs most often (outside quotes) in the first non-empty line, {@code ,} on a tie or when none does.</li>
 * <li><b>header</b>: the first non-empty row is a header when one of its fields, the label column's aside, is not a
 *     number; a label given by name implies a header.</li>
 * <li><b>label</b>: the last column; {@link #withLabel} names a header column, {@link #withLabelColumn} counts from 1
 *     (negative from the end).</li>
 * <li><b>classes</b>: when every label is a whole number {@code 0..K-1}, the label is the class index and the classes
 *     are named {@code "0".."K-1"} (K = the largest label + 1); otherwise the distinct labels sorted (by
 *     {@link String#compareTo}) give the indices. {@link #withClasses} fixes the list (a test file read with the
 *     training file's classes maps names the same way); a label not in it is an error.</li>
 * </ul>
 * Empty lines are skipped. An error names the file, line and column: a row with another number of fields than the
 * header (or the first row), an empty field or one of {@code NA N/A NaN null ?} (missing values), a field that is not a
 * decimal number, a label not among the classes, a file with no data rows.
 */
public final class CsvFormat {
    private final Character delimiter;
    private final Boolean header;
    private final String labelName;
    private final int labelColumn;
    private final List<String> classes;

    private CsvFormat(Character delimiter, Boolean header, String labelName, int labelColumn, List<String> classes) {
        this.delimiter = delimiter;
        this.header = header;
        this.labelName = labelName;
        this.labelColumn = labelColumn;
        this.classes = classes;
    }

    /** Delimiter and header detected, the label in the last column, classes from the data. */
    public static CsvFormat defaults() {
        return new CsvFormat(null, null, null, -1, null);
    }

    /** A fixed delimiter, e.g. {@code '\t'}. */
    public CsvFormat withDelimiter(char d) {
        if (d == '"' || d == '\n' || d == '\r') {
            throw new IllegalArgumentException("delimiter " + (int) d + " is a quote or line break");
        }
        return new CsvFormat(d, header, labelName, labelColumn, classes);
    }

    /** Whether the first non-empty row is a header, instead of detecting it. */
    public CsvFormat withHeader(boolean present) {
        return new CsvFormat(delimiter, present, labelName, labelColumn, classes);
    }

    /** The label is the header's column {@code name} (compared exactly, after trimming). */
    public CsvFormat withLabel(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("label column name is empty");
        }
        return new CsvFormat(delimiter, header, name.trim(), 0, classes);
    }

    /** The label is column {@code column}, counted from 1; negative counts from the end (-1: the last). */
    public CsvFormat withLabelColumn(int column) {
        if (column == 0) {
            throw new IllegalArgumentException("columns are counted from 1 (or from -1 at the end); 0 is none");
        }
        return new CsvFormat(delimiter, header, null, column, classes);
    }

    /** The class names in label order; every label must be one of them. */
    public CsvFormat withClasses(List<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("no classes");
        }
        if (names.stream().distinct().count() != names.size()) {
            throw new IllegalArgumentException("class names repeat: " + names);
        }
        return new CsvFormat(delimiter, header, labelName, labelColumn, List.copyOf(names));
    }

    public Optional<Character> delimiter() {
        return Optional.ofNullable(delimiter);
    }

    public Optional<Boolean> header() {
        return Optional.ofNullable(header);
    }

    /** The label column's header name, when it was given by name. */
    public Optional<String> labelName() {
        return Optional.ofNullable(labelName);
    }

    /** The label column counted from 1 (negative from the end); 0 when it was given by name. */
    public int labelColumn() {
        return labelColumn;
    }

    public Optional<List<String>> classes() {
        return Optional.ofNullable(classes);
    }

    /**
     * Reads and checks {@code file} whole: samples of shape {@code (F)} for F feature columns, labels by class index.
     *
     * @throws DataFormatException naming the file, line and column of the first fault
     */
    public LabelledData read(Path file) throws IOException {
        return CsvReader.read(Objects.requireNonNull(file), this);
    }

    @Override
    public String toString() {
        return "CsvFormat[delimiter " + (delimiter == null ? "detected" : delimiter == '\t' ? "TAB" : "'" + delimiter + "'")
                + ", header " + (header == null ? "detected" : header ? "present" : "absent") + ", label "
                + (labelName != null ? "'" + labelName + "'" : "column " + labelColumn) + ", classes "
                + (classes == null ? "from the data" : classes) + "]";
    }
}
