package dev.fleetkeeper.cli.output;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A plain-text table: columns sized to their content, two spaces apart, numbers right-aligned,
 * and the last column cut so that each line fits a width (as {@code ps} cuts COMMAND). Collect
 * rows, then {@link #render(int)}. Not thread-safe; one per output.
 */
public final class Table {
    /** A width that never cuts. */
    public static final int UNLIMITED = Integer.MAX_VALUE;

    private static final String GAP = "  ";
    private static final String CUT = "...";
    /** Below this the last column is not cut further: a line may then run past the width, but stays readable. */
    static final int MIN_LAST = 16;

    /** How a column's cells sit in its width. */
    public enum Align {
        /** Text. */
        LEFT,
        /** Numbers and sizes. */
        RIGHT
    }

    /**
     * One column.
     *
     * @param header the heading, upper case by convention
     * @param align where cells sit
     */
    public record Column(String header, Align align) {
        public Column {
            Objects.requireNonNull(header, "header");
            Objects.requireNonNull(align, "align");
        }

        /** A left-aligned text column. */
        public static Column text(String header) {
            return new Column(header, Align.LEFT);
        }

        /** A right-aligned numeric column. */
        public static Column number(String header) {
            return new Column(header, Align.RIGHT);
        }
    }

    private final List<Column> columns;
    private final List<String[]> rows = new ArrayList<>();

    private Table(List<Column> columns) {
        if (columns.isEmpty()) {
            throw new IllegalArgumentException("columns: none (expected: at least one)");
        }
        this.columns = List.copyOf(columns);
    }

    /** A table with these columns, in order. */
    public static Table of(Column... columns) {
        return new Table(Arrays.asList(columns));
    }

    /** Adds a row; {@code null} cells print as "-". */
    public Table row(String... cells) {
        if (cells.length != columns.size()) {
            throw new IllegalArgumentException(
                    "cells: " + cells.length + " (expected: " + columns.size() + ", one per column)");
        }
        String[] copy = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            copy[i] = cells[i] == null || cells[i].isEmpty() ? "-" : oneLine(cells[i]);
        }
        rows.add(copy);
        return this;
    }

    /** Number of rows added. */
    public int size() {
        return rows.size();
    }

    /** The column widths the content needs: the widest cell or header of each. */
    public int[] widths() {
        int[] widths = new int[columns.size()];
        for (int c = 0; c < widths.length; c++) {
            widths[c] = columns.get(c).header().length();
        }
        for (String[] row : rows) {
            for (int c = 0; c < widths.length; c++) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        return widths;
    }

    /**
     * The header and the rows, each line ending in a newline, with the last column cut so that no
     * line is longer than {@code maxWidth}, unless that would leave it fewer than {@link #MIN_LAST}
     * characters.
     */
    public String render(int maxWidth) {
        int[] widths = widths();
        StringBuilder out = new StringBuilder();
        out.append(line(columns, widths, headers(), maxWidth)).append('\n');
        for (String[] row : rows) {
            out.append(line(columns, widths, row, maxWidth)).append('\n');
        }
        return out.toString();
    }

    /**
     * The header line alone, for output that streams rows one at a time with fixed widths (each
     * at least its header's width).
     */
    public String header(int[] widths, int maxWidth) {
        return line(columns, atLeastHeaders(widths), headers(), maxWidth);
    }

    /** One row formatted with fixed widths, for streamed output; cells wider than their column push the rest right. */
    public String format(int[] widths, int maxWidth, String... cells) {
        if (cells.length != columns.size()) {
            throw new IllegalArgumentException("cells: " + cells.length + " (expected: " + columns.size() + ")");
        }
        String[] clean = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            clean[i] = cells[i] == null || cells[i].isEmpty() ? "-" : oneLine(cells[i]);
        }
        return line(columns, atLeastHeaders(widths), clean, maxWidth);
    }

    private int[] atLeastHeaders(int[] widths) {
        if (widths.length != columns.size()) {
            throw new IllegalArgumentException("widths: " + widths.length + " (expected: " + columns.size() + ")");
        }
        int[] result = new int[widths.length];
        for (int c = 0; c < widths.length; c++) {
            result[c] = Math.max(widths[c], columns.get(c).header().length());
        }
        return result;
    }

    private String[] headers() {
        return columns.stream().map(Column::header).toArray(String[]::new);
    }

    private static String line(List<Column> columns, int[] widths, String[] cells, int maxWidth) {
        StringBuilder line = new StringBuilder();
        int last = columns.size() - 1;
        for (int c = 0; c < last; c++) {
            pad(line, cells[c], widths[c], columns.get(c).align());
            line.append(GAP);
        }
        String tail = cells[last];
        if (columns.get(last).align() == Align.RIGHT) {
            StringBuilder padded = new StringBuilder();
            pad(padded, tail, widths[last], Align.RIGHT);
            tail = padded.toString();
        }
        int room = maxWidth == UNLIMITED ? UNLIMITED : maxWidth - line.length();
        line.append(cut(tail, room));
        return stripTrailing(line);
    }

    private static void pad(StringBuilder line, String cell, int width, Align align) {
        int fill = Math.max(0, width - cell.length());
        if (align == Align.RIGHT) {
            line.append(" ".repeat(fill)).append(cell);
        } else {
            line.append(cell).append(" ".repeat(fill));
        }
    }

    /** Cuts {@code text} to {@code room} characters, marking the cut; keeps {@link #MIN_LAST} at least. */
    static String cut(String text, int room) {
        int keep = Math.max(room, MIN_LAST);
        if (text.length() <= keep) {
            return text;
        }
        return text.substring(0, keep - CUT.length()) + CUT;
    }

    private static String oneLine(String cell) {
        // Arguments may hold newlines or tabs; a table row must stay one line.
        StringBuilder clean = new StringBuilder(cell.length());
        for (int i = 0; i < cell.length(); i++) {
            char ch = cell.charAt(i);
            clean.append(Character.isISOControl(ch) ? ' ' : ch);
        }
        return clean.toString();
    }

    private static String stripTrailing(StringBuilder line) {
        int end = line.length();
        while (end > 0 && line.charAt(end - 1) == ' ') {
            end--;
        }
        return line.substring(0, end);
    }
}
