"""The environment matrix's `enter`: one flag's configuration in environments A and B side by
side (its fields, then its rules aligned as `compare` aligns them), the lines that differ
highlighted, and the differences in words under them. Plain Text throughout: every string is
escaped already (domain/env_compare_words.py).

The aligned table and the differences in words under it share the box by need
(`table_height`: both whole where they fit, else the smaller whole when it is at most half,
else half each), each scrolls (`tab` between them), and while some of either is below its edge
a line under it says how many and how to reach them (`rows_below`, `more_below`), so a part
cut at its edge never reads as all there is. The sides' columns take the table's width, laid
out again when the screen is resized (`side_width`).

It shows what the matrix read, and follows the matrix's reads while it is open (looked at
`LOOK_EVERY`): a configuration changed since is shown as soon as the matrix has read it, and the
top line says how old the read is, whether one is running or failed, and that `r` reads again
now, so a value never looks more current than it is.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.css.scalar import Scalar
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from togul_monitor.domain.env_compare import compare_flag
from togul_monitor.domain.env_compare_words import difference_line, flag_summary, side_by_side
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.change import cut_cells
from togul_monitor.ui.view.format import fmt_age, plain

DIFFERS_STYLE = "bold black on yellow"
LOOK_EVERY = 0.5  # seconds between two looks at the matrix's read (tests shorten it)
LABEL_WIDTH = 15  # `≠ description` whole
# Cells a DataTable adds around its three columns (a padding cell each side of each), and a
# vertical scrollbar's room, kept whether or not it shows so the widths do not jump with it.
TABLE_GUTTER = 3 * 2 + 2
SIDE_LEAST = 12
TABLE_LEAST = 3  # the header and two rows, however many differences there are


class DiffRead(msgspec.Struct, frozen=True):
    """The flag in A and B as the matrix last read them, and how that read stands."""

    a: FlagConfig | None
    b: FlagConfig | None
    read_at: float  # when the matrix read them, on the clock the screen is given
    refreshing: bool = False
    error: str | None = None  # the last read failed: what is shown is older (already safe)


def read_state(read: DiffRead, now: float) -> str:
    """`read 12s ago · follows each new read · r reads again now`."""
    parts = [f"read {fmt_age(max(0.0, now - read.read_at))} ago"]
    if read.refreshing:
        parts.append("refreshing…")
    if read.error:
        parts.append(f"last refresh failed: {read.error}")
    parts += ["follows each new read", "r reads again now"]
    return " · ".join(parts)


def difference_words(
    key: str, env_a: str, env_b: str, a: FlagConfig | None, b: FlagConfig | None
) -> tuple[str, list[str]]:
    """The headline (the first difference and how many more), and every difference in words;
    none when there is only one: the headline says it whole, and a second line saying it again
    would read as two."""
    flag = compare_flag(key, a, b)
    lines = [difference_line(difference, env_a, env_b) for difference in flag.differences]
    return flag_summary(flag, env_a, env_b), lines if len(lines) > 1 else []


def hidden_below(bottoms: list[int], seen_to: int) -> int:
    """How many differences end below the list's visible part (`seen_to`: the first row not
    seen), from each one's bottom row: one cut at the edge is not read whole either."""
    return sum(1 for bottom in bottoms if bottom > seen_to)


def more_below(hidden: int, in_list: bool) -> str:
    """The line under the differences while some are out of sight: how many, and the keys that
    reach them from where the focus is (`""`: none hidden)."""
    if hidden <= 0:
        return ""
    return reach(f"… {hidden} more difference{'' if hidden == 1 else 's'} below", in_list)


def reach(below: str, focused: bool) -> str:
    """`below` (what a part has out of sight) and the keys that reach it from where the focus
    is: in that part (`focused`), or in the other one."""
    return f"{below}: ↓ scrolls" if focused else f"{below}: tab, then ↓"


def side_width(table_width: int) -> int:
    """Cells of each environment's column in a table `table_width` cells wide: the rest after
    the labels, shared."""
    return max(SIDE_LEAST, (table_width - LABEL_WIDTH - TABLE_GUTTER) // 2)


def rows_below(labels: list[str], first_unseen: int) -> str:
    """The line under the aligned table while some of its rows (`labels`, in order) are below
    its edge (`first_unseen`: the index of the first not in sight): how many rules, or lines
    and how many of them rules when fields are among them (a screen shorter than the fields).
    `""`: all in sight."""
    hidden = labels[max(0, first_unseen) :]
    if not hidden:
        return ""
    rules = sum(1 for label in hidden if label.startswith("rule "))
    if rules == len(hidden):
        return f"… {rules} more rule{'' if rules == 1 else 's'} below"
    of_them = f" ({rules} rule{'' if rules == 1 else 's'})" if rules else ""
    return f"… {len(hidden)} more line{'' if len(hidden) == 1 else 's'} below{of_them}"


def table_height(room: int, table_needs: int, words_needs: int) -> int:
    """Lines the aligned table gets of `room` (what the table, the differences and the lines
    saying what is below them share): all it needs when both fit; else the differences all
    theirs when that is at most half, the table all its own when that is, and half each
    otherwise. Each part cut keeps a line for saying so."""
    if table_needs + words_needs <= room:
        return table_needs
    half = max(0, room - 2) // 2
    if words_needs <= half:
        height = room - 1 - words_needs
    elif table_needs <= half:
        height = table_needs
    else:
        height = half
    return max(TABLE_LEAST, height)


class EnvDiffScreen(ModalScreen[None]):
    BINDINGS = [
        *close_and_help("env_diff_close"),
        Binding("r", "refresh", "Refresh", id="env_diff_refresh", tooltip="Read both again"),
    ]
    HELP_TITLE = "flag side by side (enter in c)"
    OTHER_KEYS = (
        ("tab", "Move between the aligned rules and the differences in words under them"),
        ("up,down", "Move among the rules, or scroll the differences (pageup/pagedown, end)"),
    )

    DEFAULT_CSS = """
    EnvDiffScreen { align: center middle; }
    EnvDiffScreen > Vertical {
        width: 90%; height: 80%; border: thick $accent; background: $surface; padding: 0 1;
    }
    EnvDiffScreen #env-diff-state { height: auto; max-height: 2; color: $text-muted; }
    EnvDiffScreen DataTable { height: auto; max-height: 50%; }
    EnvDiffScreen #env-diff-rules-more { height: 1; color: $warning; display: none; }
    EnvDiffScreen #env-diff-rules-more.-shown { display: block; }
    EnvDiffScreen #env-diff-headline { height: auto; text-style: bold; }
    EnvDiffScreen #env-diff-words { height: 1fr; min-height: 2; }
    EnvDiffScreen .env-diff-difference { height: auto; padding-left: 2; color: $text-accent; }
    EnvDiffScreen #env-diff-more { height: 1; color: $warning; display: none; }
    EnvDiffScreen #env-diff-more.-shown { display: block; }
    """

    def __init__(
        self,
        key: str,
        env_a: str,
        env_b: str,
        source: Callable[[], DiffRead],
        clock: Callable[[], float],
        refresh: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.key, self.env_a, self.env_b = key, env_a, env_b
        self.source, self.clock, self._refresh = source, clock, refresh
        self.read = source()
        self.lines = side_by_side(self.read.a, self.read.b)
        self._width = 0  # each side's column, as last laid out

    def compose(self) -> ComposeResult:
        with Vertical(id="env-diff-box") as box:
            box.border_title = plain(f"{self.key}: {self.env_a} ↔ {self.env_b}")
            box.border_subtitle = "r refresh · esc close"
            yield Static("", id="env-diff-state")
            yield DataTable(id="env-diff-table", cursor_type="row", zebra_stripes=False)
            yield Static("", id="env-diff-rules-more")
            yield Static("", id="env-diff-headline")
            yield VerticalScroll(id="env-diff-words")
            yield Static("", id="env-diff-more")
        yield modal_footer()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#env-diff-table", DataTable)

    def on_mount(self) -> None:
        table = self.table
        # The table is not laid out yet: its width from the box's (90% less its gutter) until
        # it is (`_relayout`).
        self._lay_columns(side_width(self.app.size.width * 90 // 100 - 4))
        self._paint()
        table.focus()
        self.watch(self.words, "scroll_y", self._paint_more, init=False)
        self.watch(table, "scroll_y", self._paint_more, init=False)
        self.call_after_refresh(self._relayout)
        self.set_interval(LOOK_EVERY, self._look, name="env-diff")

    @property
    def words(self) -> VerticalScroll:
        return self.query_one("#env-diff-words", VerticalScroll)

    def differences_shown(self) -> list[str]:
        """The headline, then every difference the list holds (seen or scrolled to)."""
        headline = str(self.query_one("#env-diff-headline", Static).render())
        return [headline, *(str(line.render()) for line in self._lines())]

    def _lines(self) -> list[Static]:
        return list(self.words.query(".env-diff-difference").results(Static))

    def _lay_columns(self, width: int) -> bool:
        """The columns at `width` cells a side (False: already so)."""
        if width == self._width:
            return False
        self._width = width
        table = self.table
        table.clear(columns=True)
        table.add_column("", width=LABEL_WIDTH)
        table.add_column(plain(self.env_a), width=width)
        table.add_column(plain(self.env_b), width=width)
        return True

    def _relayout(self) -> None:
        """After a layout: the sides' width from the table's, the height shared by need, and
        what is out of sight said."""
        if not self.is_mounted:
            return
        table = self.table
        row = table.cursor_row
        if table.size.width and self._lay_columns(side_width(table.size.width)):
            self._paint(row)
        self._fit()
        self._paint_more()

    def _fit(self) -> None:
        box = self.query_one("#env-diff-box", Vertical)
        state = self.query_one("#env-diff-state", Static).outer_size.height
        headline = self.query_one("#env-diff-headline", Static).outer_size.height
        room = box.size.height - state - headline
        if room <= 0:
            return
        needs = self.table.row_count + 1  # and its header
        # The lines' own heights: the list's virtual size is at least its own height.
        words = sum(line.outer_size.height for line in self._lines())
        height = table_height(room, needs, words)
        if self.table.styles.max_height != Scalar.from_number(height):
            self.table.styles.max_height = height
            self.call_after_refresh(self._paint_more)  # once laid out at that height

    def _look(self) -> None:
        read = self.source()
        changed = (read.a, read.b) != (self.read.a, self.read.b)
        self.read = read
        if changed:
            self.lines = side_by_side(read.a, read.b)
            self._paint()
        else:
            self._paint_state()  # the age moves
        self._paint_more()

    def _paint(self, row: int | None = None) -> None:
        """Every line again (the cursor kept on `row`, else where it is)."""
        table, width = self.table, self._width
        row = table.cursor_row if row is None else row
        table.clear()
        for label, left, right, differs in self.lines:
            style = DIFFERS_STYLE if differs else ""
            mark = "≠ " if differs else "  "
            # Cut with … (the table would cut silently); the words below say each difference
            # whole.
            table.add_row(
                Text(cut_cells(mark + label, LABEL_WIDTH), style="bold"),
                Text(cut_cells(left, width), style=style),
                Text(cut_cells(right, width), style=style),
            )
        if 0 <= row < table.row_count:
            table.move_cursor(row=row, animate=False)
        self._paint_words()
        self._paint_state()

    def _paint_words(self) -> None:
        headline, lines = difference_words(
            self.key, self.env_a, self.env_b, self.read.a, self.read.b
        )
        self.query_one("#env-diff-headline", Static).update(Text(headline))
        shown = self._lines()
        for widget, line in zip(shown, lines, strict=False):
            widget.update(Text(line))
        if len(lines) > len(shown):
            self.words.mount_all(
                Static(Text(line), classes="env-diff-difference") for line in lines[len(shown) :]
            )
        for widget in shown[len(lines) :]:
            widget.remove()
        self.call_after_refresh(self._relayout)

    def _paint_more(self) -> None:
        """Say how many rules and differences are out of sight below (after a layout, a
        scroll, a focus change, and at each look)."""
        if not self.is_mounted:
            return
        table = self.table
        seen = table.scrollable_content_region.height - table.header_height
        first_unseen = round(table.scroll_y) + max(0, seen)
        line = rows_below([label for label, *_ in self.lines], first_unseen)
        if line:
            line = reach(line, self.focused is table)
        rules_more = self.query_one("#env-diff-rules-more", Static)
        rules_more.update(Text(line))
        rules_more.set_class(bool(line), "-shown")
        words = self.words
        seen_to = round(words.scroll_y) + words.scrollable_content_region.height
        hidden = hidden_below([line.virtual_region.bottom for line in self._lines()], seen_to)
        more = self.query_one("#env-diff-more", Static)
        line = more_below(hidden, in_list=self.focused is words)
        more.update(Text(line))
        more.set_class(bool(line), "-shown")

    def on_descendant_focus(self) -> None:
        self._paint_more()

    def on_resize(self) -> None:
        self.call_after_refresh(self._relayout)

    def _paint_state(self) -> None:
        line = Text(read_state(self.read, self.clock()))
        if self.read.error:
            line.stylize("yellow")
        self.query_one("#env-diff-state", Static).update(line)

    def action_refresh(self) -> None:
        self._refresh()
        self._look()
