package io.batchwise.cli;

import io.batchwise.data.CsvFormat;
import java.util.Locale;
import picocli.CommandLine.Option;

/** How to read a CSV/TSV file: the flags {@code train} and {@code predict} share. */
final class CsvOptions {
    @Option(names = "--label", paramLabel = "COL",
            description = "CSV: the label column, by header name or by number counted from 1 (negative from the end)."
                    + " Labels that are all whole numbers are class indices; otherwise the names sorted give the indices."
                    + " Default: the last column.")
    String label;

    @Option(names = "--delimiter", paramLabel = "auto|comma|tab|semicolon|pipe|C", defaultValue = "auto",
            description = "CSV: the field delimiter. auto: tab for .tsv/.tab files, else the most frequent of , TAB ; |"
                    + " in the first line. Default: ${DEFAULT-VALUE}.")
    String delimiter;

    @Option(names = "--header", paramLabel = "auto|yes|no", defaultValue = "auto",
            description = "CSV: whether the first row names the columns. auto: yes when a field other than the label is"
                    + " not a number. Default: ${DEFAULT-VALUE}.")
    String header;

    /** The format these flags give; {@code label} overrides {@link #label} when this is null (predict: data.json's). */
    CsvFormat format(String savedLabel) {
        CsvFormat f = CsvFormat.defaults();
        String d = delimiter.trim().toLowerCase(Locale.ROOT);
        switch (d) {
            case "auto" -> { }
            case "comma", "," -> f = f.withDelimiter(',');
            case "tab", "\\t", "\t" -> f = f.withDelimiter('\t');
            case "semicolon", ";" -> f = f.withDelimiter(';');
            case "pipe", "|" -> f = f.withDelimiter('|');
            default -> {
                if (delimiter.length() != 1) {
                    throw new IllegalArgumentException("Invalid value for option '--delimiter': '" + delimiter
                            + "' (auto, comma, tab, semicolon, pipe or one character)");
                }
                f = f.withDelimiter(delimiter.charAt(0));
            }
        }
        switch (header.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> { }
            case "yes", "true" -> f = f.withHeader(true);
            case "no", "false" -> f = f.withHeader(false);
            default -> throw new IllegalArgumentException("Invalid value for option '--header': '" + header + "' (auto, yes or no)");
        }
        String l = label != null ? label.trim() : savedLabel;
        if (l != null) {
            try {
                f = l.matches("-?\\d{1,9}") ? f.withLabelColumn(Integer.parseInt(l)) : f.withLabel(l);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Invalid value for option '--label': '" + l + "': " + e.getMessage(), e);
            }
        }
        return f;
    }
}
