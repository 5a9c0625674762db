package dev.fleetkeeper.cli.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.cli.output.Table.Column;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class TableTest {
    private static Table sample() {
        return Table.of(Column.number("PID"), Column.text("USER"), Column.text("COMMAND"))
                .row("1", "root", "/sbin/init splash")
                .row("12345", "www-data", "nginx: worker process");
    }

    @Test
    void columns_areSizedToContent_numbersRightAligned_textLeft() {
        assertThat(sample().render(Table.UNLIMITED)).isEqualTo(
                "  PID  USER      COMMAND\n"
                        + "    1  root      /sbin/init splash\n"
                        + "12345  www-data  nginx: worker process\n");
    }

    @Test
    void lastColumn_isCutToTheWidth_withAMark() {
        String rendered = sample().render(35);

        assertThat(rendered.lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(35));
        assertThat(rendered).contains("12345  www-data  nginx: worker p...\n");
    }

    @Test
    void lastColumn_keepsAFewCharacters_evenWhenTheOthersFillTheWidth() {
        String rendered = sample().render(10);

        assertThat(rendered).contains("12345  www-data  nginx: worker...");
    }

    @Test
    void emptyCells_printAsDash_andControlCharactersAsSpaces() {
        String rendered = Table.of(Column.text("A"), Column.text("B")).row(null, "x\ny").render(Table.UNLIMITED);

        assertThat(rendered).isEqualTo("A  B\n-  x y\n");
    }

    @Test
    void rowWithTheWrongNumberOfCells_isRejected_sayingWhatWasExpected() {
        assertThatThrownBy(() -> Table.of(Column.text("A")).row("1", "2"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cells: 2 (expected: 1, one per column)");
    }

    @Test
    void streamedRows_useTheGivenWidths() {
        Table table = Table.of(Column.text("A"), Column.number("N"), Column.text("MSG"));
        int[] widths = {3, 4, 0};

        assertThat(table.header(widths, Table.UNLIMITED)).isEqualTo("A       N  MSG");
        assertThat(table.format(widths, Table.UNLIMITED, "ab", "7", "hello")).isEqualTo("ab      7  hello");
    }

    @Test
    void streamedRows_areNeverNarrowerThanTheirHeaders() {
        Table table = Table.of(Column.text("TIME"), Column.text("HOST"), Column.text("MSG"));
        int[] widths = {2, 2, 0};

        assertThat(table.header(widths, Table.UNLIMITED)).isEqualTo("TIME  HOST  MSG");
        assertThat(table.format(widths, Table.UNLIMITED, "t", "vm", "hi")).isEqualTo("t     vm    hi");
    }
}
