package io.batchwise.data;

import io.batchwise.Shape;
import io.batchwise.train.InMemoryDataset;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/** {@link CsvFormat#read}: one pass over the file with Commons CSV, then the labels mapped to classes. */
final class CsvReader {
    /** A decimal number as people write them: no hex, no {@code 1f}/{@code 1d} suffixes, no NaN or Infinity. */
    private static final Pattern NUMBER = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");
    private static final Pattern WHOLE = Pattern.compile("\\d{1,9}");
    private static final Set<String> MISSING = Set.of("na", "n/a", "nan", "null", "?", "none");
    private static final char[] CANDIDATES = {',', '\t', ';', '|'};

    private CsvReader() {
    }

    static LabelledData read(Path file, CsvFormat format) throws IOException {
        char delimiter = format.delimiter().orElse(detectDelimiter(file));
        CSVFormat csv = CSVFormat.DEFAULT.builder().setDelimiter(delimiter).setIgnoreEmptyLines(false).setTrim(true).get();
        List<String> header = null;
        int columns = -1;
        int label = -1; // 0-based
        List<String> labels = new ArrayList<>();
        List<Long> labelLines = new ArrayList<>();
        float[] x = new float[1024];
        int n = 0;
        try (Reader r = reader(file); CSVParser parser = csv.parse(r)) {
            Iterator<CSVRecord> it = parser.iterator();
            while (true) {
                long line = parser.getCurrentLineNumber() + 1; // the record's first line: the last one's end + 1
                if (!next(it, file, line)) {
                    break;
                }
                CSVRecord rec = it.next();
                if (rec.size() == 1 && rec.get(0).isEmpty()) {
                    continue; // an empty (or blank) line
                }
                if (columns < 0) {
                    columns = rec.size();
                    boolean isHeader = format.header().orElseGet(() -> format.labelName().isPresent() || looksLikeHeader(rec, format));
                    label = labelIndex(file, format, isHeader ? rec.toList() : null, columns, line);
                    if (columns < 2) {
                        throw new DataFormatException(file, line, 0, "only one column (delimiter " + show(delimiter)
                                + "): a table needs a label column and at least one feature column");
                    }
                    if (isHeader) {
                        header = rec.toList();
                        continue;
                    }
                }
                if (rec.size() != columns) {
                    throw new DataFormatException(file, line, 0, rec.size() + " fields, but " + (header != null ? "the header has "
                            : "the first row has ") + columns + " (delimiter " + show(delimiter) + ")");
                }
                int features = columns - 1;
                if ((long) (n + 1) * features > Integer.MAX_VALUE - 8) {
                    throw new DataFormatException(file, line, 0, "more values than one array holds; split the file into shards"
                            + " (ShardedDataset)");
                }
                if ((n + 1) * features > x.length) {
                    x = Arrays.copyOf(x, (int) Math.min(Integer.MAX_VALUE - 8, Math.max((long) x.length * 2, (long) (n + 1) * features)));
                }
                int at = n * features;
                for (int c = 0; c < columns; c++) {
                    String v = rec.get(c);
                    if (c == label) {
                        if (v.isEmpty() || MISSING.contains(v.toLowerCase(Locale.ROOT))) {
                            throw new DataFormatException(file, line, c + 1, "missing label" + (v.isEmpty() ? "" : " ('" + v + "')")
                                    + name(header, c));
                        }
                        labels.add(v);
                        labelLines.add(line);
                    } else {
                        x[at++] = number(file, line, c, v, header);
                    }
                }
                n++;
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        if (n == 0) {
            throw new DataFormatException(file, 0, 0, "no data rows" + (header != null ? " after the header" : ""));
        }
        int[] y = new int[n];
        List<String> classes = classes(file, format, labels, labelLines, label, header, y);
        List<String> features = new ArrayList<>();
        for (int c = 0; c < columns; c++) {
            if (c != label) {
                features.add(header != null ? header.get(c) : "column " + (c + 1));
            }
        }
        float[] inputs = x.length == n * (columns - 1) ? x : Arrays.copyOf(x, n * (columns - 1));
        return new LabelledData(InMemoryDataset.labelled(inputs, Shape.of(columns - 1), y), classes, features);
    }

    /** {@code it.hasNext()}, with a parse error (an unclosed quote) named by file and line. */
    private static boolean next(Iterator<CSVRecord> it, Path file, long line) throws IOException {
        try {
            return it.hasNext();
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof CharacterCodingException) {
                throw new DataFormatException(file, line, 0, "not UTF-8 text", e);
            }
            throw new DataFormatException(file, line, 0, "cannot parse the row: " + e.getCause().getMessage(), e);
        } catch (IllegalStateException e) {
            throw new DataFormatException(file, line, 0, "cannot parse the row: " + e.getMessage(), e);
        }
    }

    /** UTF-8 (malformed input is an error, not replaced), a byte-order mark skipped. */
    private static Reader reader(Path file) throws IOException {
        BufferedReader r = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(file),
                StandardCharsets.UTF_8.newDecoder()), 1 << 16);
        r.mark(1);
        if (r.read() != '\uFEFF') {
            r.reset();
        }
        return r;
    }

    private static char detectDelimiter(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".tsv") || name.endsWith(".tab")) {
            return '\t';
        }
        try (BufferedReader r = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                int[] counts = new int[CANDIDATES.length];
                boolean quoted = false;
                for (int i = 0; i < line.length(); i++) {
                    char ch = line.charAt(i);
                    if (ch == '"') {
                        quoted = !quoted;
                    }
                    for (int k = 0; k < CANDIDATES.length && !quoted; k++) {
                        counts[k] += ch == CANDIDATES[k] ? 1 : 0;
                    }
                }
                int best = 0;
                for (int k = 1; k < CANDIDATES.length; k++) {
                    best = counts[k] > counts[best] ? k : best;
                }
                return CANDIDATES[best];
            }
        }
        return ',';
    }

    /** A header when a field other than the label column is not a number. */
    private static boolean looksLikeHeader(CSVRecord rec, CsvFormat format) {
        int label = format.labelColumn() > 0 ? format.labelColumn() - 1 : rec.size() + format.labelColumn();
        for (int c = 0; c < rec.size(); c++) {
            if (c != label && !NUMBER.matcher(rec.get(c)).matches()) {
                return true;
            }
        }
        return false;
    }

    private static int labelIndex(Path file, CsvFormat format, List<String> header, int columns, long line) throws IOException {
        if (format.labelName().isPresent()) {
            String want = format.labelName().get();
            if (header == null) {
                throw new DataFormatException(file, line, 0, "the label column is given by name ('" + want + "') but the file"
                        + " has no header");
            }
            int at = header.indexOf(want);
            if (at < 0) {
                throw new DataFormatException(file, line, 0, "no column '" + want + "' in the header " + header);
            }
            return at;
        }
        int c = format.labelColumn();
        int at = c > 0 ? c - 1 : columns + c;
        if (at < 0 || at >= columns) {
            throw new DataFormatException(file, line, 0, "label column " + c + " is outside the " + columns + " columns"
                    + (header != null ? " " + header : ""));
        }
        return at;
    }

    private static float number(Path file, long line, int c, String v, List<String> header) throws DataFormatException {
        if (v.isEmpty() || MISSING.contains(v.toLowerCase(Locale.ROOT))) {
            throw new DataFormatException(file, line, c + 1, "missing value" + (v.isEmpty() ? "" : " ('" + v + "')")
                    + name(header, c) + "; fill or drop the row first");
        }
        if (!NUMBER.matcher(v).matches()) {
            throw new DataFormatException(file, line, c + 1, "'" + v + "' is not a number" + name(header, c));
        }
        float f = Float.parseFloat(v);
        if (!Float.isFinite(f)) {
            throw new DataFormatException(file, line, c + 1, "'" + v + "' is out of float range" + name(header, c));
        }
        return f;
    }

    private static String name(List<String> header, int c) {
        return header != null ? " (column '" + header.get(c) + "')" : "";
    }

    private static String show(char d) {
        return d == '\t' ? "TAB" : "'" + d + "'";
    }

    /** Maps the labels to class indices in {@code y}; returns the class names by index. */
    private static List<String> classes(Path file, CsvFormat format, List<String> labels, List<Long> lines, int column,
            List<String> header, int[] y) throws DataFormatException {
        List<String> given = format.classes().orElse(null);
        if (given != null) {
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < given.size(); i++) {
                index.put(given.get(i), i);
            }
            for (int i = 0; i < y.length; i++) {
                String v = labels.get(i);
                Integer k = index.get(v);
                if (k == null && WHOLE.matcher(v).matches()) {
                    k = index.get(String.valueOf(Integer.parseInt(v))); // "07" is class "7"
                }
                if (k == null) {
                    throw new DataFormatException(file, lines.get(i), column + 1, "label '" + v + "' is not one of the "
                            + given.size() + " classes " + abbreviate(given) + name(header, column));
                }
                y[i] = k;
            }
            return given;
        }
        boolean whole = labels.stream().allMatch(v -> WHOLE.matcher(v).matches());
        if (whole) {
            int max = 0;
            for (int i = 0; i < y.length; i++) {
                y[i] = Integer.parseInt(labels.get(i));
                max = Math.max(max, y[i]);
            }
            if (max >= 1 << 16) {
                int i = 0;
                while (y[i] != max) {
                    i++;
                }
                throw new DataFormatException(file, lines.get(i), column + 1, "label " + max + " as a class index would make "
                        + (max + 1) + " classes; is this the label column?" + name(header, column));
            }
            List<String> names = new ArrayList<>();
            for (int k = 0; k <= max; k++) {
                names.add(String.valueOf(k));
            }
            return names;
        }
        List<String> names = new ArrayList<>(new TreeSet<>(labels));
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            index.put(names.get(i), i);
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = index.get(labels.get(i));
        }
        return names;
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 20 ? names.toString() : names.subList(0, 20) + " (and " + (names.size() - 20) + " more)";
    }
}
