"""An invalid filter's error is always on screen: the message whatever the width and however far
the Input is scrolled, the caret under the term at fault (counted in cells) only when that term
is on screen, a long message wrapped and ended with `…` when cut."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from togul_monitor.domain.filters import FilterError, parse_filter
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp
from togul_monitor.ui.view.filter_error import filter_error_text
from togul_monitor.ui.widgets.filter_bar import FilterBar

from .helpers import make_app, make_profile, wait_for, wait_live

LONG = "!checkout-button-color !recommendation-model !welcome-message !search-algorithm tpye:flag"
LOOKBEHIND = "checkout /a(?<!b)c/"
WIDE = "日本語日本語 tpye:x"


def shown(widget: Widget) -> list[str]:
    """The widget's lines as the screen shows them, one string a line, cell for cell (a wide
    character is followed by a space standing for its second cell)."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    out = []
    for strip in widget.render_lines(region):
        line = ""
        for segment in strip:
            for char in segment.text:
                line += char + " " * (cell_len(char) - 1)
        out.append(line.rstrip())
    return out


def error_of(text: str) -> FilterError:
    try:
        parse_filter(text)
    except FilterError as error:
        return error
    raise AssertionError(f"{text!r} is valid")


async def submit(pilot: Pilot[Any], app: TogulMonitorApp, text: str) -> FilterBar:
    await pilot.press("slash")
    bar = app.query_one(FilterBar)
    bar.input.cursor_blink = False
    # Most of it at once (a round of the app per key is slow), the end typed: the Input
    # scrolls as typing makes it.
    bar.input.insert_text_at_cursor(text[:-3])
    await pilot.press(*text[-3:], "enter")
    await wait_for(pilot, lambda: bar.has_class("-error"), what="the error")
    await pilot.pause()
    return bar


def caret_column(lines: list[str]) -> int | None:
    first = lines[0] if lines else ""
    column = first.find("^")
    return None if column < 0 else column


async def test_a_bad_term_past_the_width_shows_its_error_and_the_caret_follows_the_scroll(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_live(pilot, app)
        bar = await submit(pilot, app, LONG)
        message = bar.query_one("#filter-message")
        assert bar.input.scroll_x > 0  # the text's start is scrolled out of view
        lines = shown(message)
        said = " ".join(line.strip() for line in lines)
        assert "unknown field 'tpye:' (did you mean type:?)" in said
        # The caret is under the bad term as the Input shows it now (scrolled).
        column = caret_column(lines)
        assert column is not None
        (input_line,) = shown(bar.input)
        assert input_line[column:].startswith("tpye:flag"), (input_line, column)
        assert app.main.filter.text == ""  # not applied

        await pilot.press("home")  # the bad term scrolls out of view: the message stays
        await wait_for(pilot, lambda: bar.input.scroll_x == 0, what="scrolled back")
        await pilot.pause()
        lines = shown(message)
        assert caret_column(lines) is None
        said = " ".join(line.strip() for line in lines)
        assert said.startswith(f"at character {LONG.index('tpye') + 1}: unknown field 'tpye:'")


async def test_a_long_message_wraps_and_wide_characters_count_two_cells(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_live(pilot, app)
        bar = await submit(pilot, app, LOOKBEHIND)
        lines = shown(bar.query_one("#filter-message"))
        assert 1 < len(lines) <= 3 and all(cell_len(line) <= 80 for line in lines)
        said = " ".join(line.strip() for line in lines)
        whole = error_of(LOOKBEHIND).message
        assert "^ " + whole in said or said.endswith("…"), said  # whole, or said to be cut
        assert "negative lookbehind" in said  # what is not supported is on screen
        column = caret_column(lines)
        (input_line,) = shown(bar.input)
        assert column is not None and input_line[column:].startswith("(?<!b)")

        await pilot.press("ctrl+u", *WIDE, "enter")
        await wait_for(pilot, lambda: "tpye" in " ".join(shown(bar.query_one("#filter-message"))))
        lines = shown(bar.query_one("#filter-message"))
        column = caret_column(lines)
        (input_line,) = shown(bar.input)
        assert column == 1 + 13 and input_line[column:].startswith("tpye:x"), (input_line, lines)


def test_the_message_is_cut_with_an_ellipsis_when_it_does_not_fit() -> None:
    message = " ".join(["word"] * 60)
    text = filter_error_text(message, 3, 4, 40, max_lines=3)
    lines = text.plain.split("\n")
    assert len(lines) == 3 and lines[0].startswith("    ^ word")
    assert all(cell_len(line) <= 40 for line in lines) and lines[-1].endswith("…")
    # Off screen: the message first, saying where; the caret column given is past the width.
    off = filter_error_text("unknown field", 99, None, 40).plain
    assert off == " at character 100: unknown field"
    # Too little room after the caret: the caret alone, the message under it.
    late = filter_error_text("a message longer than the room left", 0, 30, 40).plain
    assert late.split("\n") == [" " * 30 + "^", " a message longer than the room left"]
