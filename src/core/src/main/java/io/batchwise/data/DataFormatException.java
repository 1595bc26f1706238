package io.batchwise.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A data file that cannot be used as it is. The message is one line: {@code file:line:column: what}, with the line and
 * the column counted from 1 (as editors count them) and left out where they do not apply (0).
 */
public final class DataFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long line;
    private final int column;

    DataFormatException(Path file, long line, int column, String what) {
        super(file + (line > 0 ? ":" + line : "") + (line > 0 && column > 0 ? ":" + column : "") + ": " + what);
        this.file = file;
        this.line = line;
        this.column = column;
    }

    DataFormatException(Path file, long line, int column, String what, Throwable cause) {
        this(file, line, column, what);
        initCause(cause);
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }

    /** Its line, from 1; 0 where the fault is not on one line. */
    public long line() {
        return line;
    }

    /** Its column (field), from 1; 0 where the fault is not in one field. */
    public int column() {
        return column;
    }
}
