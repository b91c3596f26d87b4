"""A narrow history pane cuts a long detail with `…` inside its column, never past it."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import merge_history
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.view.format import fmt_clock
from togul_monitor.ui.widgets.history_pane import HistoryPane, entry_cells

BEFORE = Evaluation("a-rather-long-variant-name", "string", "rule", True)
AFTER = Evaluation("another-long-variant-name", "string", "rule", True)


class Narrow(App[None]):
    CSS = "HistoryPane { width: 36; height: 10; }"  # the pane of an 80-column screen, or less

    def compose(self) -> ComposeResult:
        yield HistoryPane(lambda: 100.0)


async def test_a_cut_detail_ends_with_an_ellipsis_within_its_column() -> None:
    app = Narrow()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        pane.show("checkout", [ValueTransition("checkout", BEFORE, AFTER, "e1", 99.0)])
        await pilot.pause()
        line = pane.get_row_at(0)[1]
        column = pane.columns[ColumnKey("entry")].width
        # What the pane has for it: its width less the time column and a scrollbar.
        assert column <= pane.size.width - 1 - pane.columns[ColumnKey("time")].width
        assert line.cell_len <= column
        assert line.plain.startswith("value ") and line.plain.endswith("…")


def test_a_long_event_type_keeps_a_space_before_the_version() -> None:
    from togul_monitor.domain.events import FlagEvent
    from togul_monitor.ui.widgets.history_pane import WHAT, entry_cells

    for kind in ("flag.exploded", "flag.exploded.and.then.some"):  # types the server made up
        event = FlagEvent(kind, "checkout", "env", 38, 1, "48", 99.0)
        _, what, detail = entry_cells(event, "utc", 100.0, 40)
        assert what.cell_len < WHAT and what.plain.endswith("…")  # the rest of it is a space
        assert detail.plain == "v38  id 48"
    _, what, _ = entry_cells(FlagEvent("flag.updated", "c", "env", 2, 1, "3", 99.0), "utc", 0, 40)
    assert what.plain == "flag.updated"  # the known types fit whole


class Wide(App[None]):
    CSS = "HistoryPane { width: 100; height: 10; }"

    def compose(self) -> ComposeResult:
        yield HistoryPane(lambda: 100.0)


async def test_a_replayed_event_shows_when_it_happened_inside_its_outage() -> None:
    outage = Outage(1000.0, 1060.0, 1, False, 1060.2)
    replayed = FlagEvent("rule.updated", "checkout", "env-1", 16, 1030.0, "24", 1060.2)
    app = Wide()
    async with app.run_test(size=(120, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        pane.time_mode = "utc"
        pane.show("checkout", merge_history([replayed, outage], limit=10))
        await pilot.pause()
        outage_row, event_row = (pane.get_row_at(row) for row in (0, 1))
        assert outage_row[1].plain.startswith("outage ")
        assert event_row[0].plain == fmt_clock(1030.0, "utc", 100.0)
        server, received = (fmt_clock(at, "utc", 0) for at in (1030.0, 1060.2))
        assert event_row[1].plain.endswith(f"replayed, server {server}, received {received}")
        # A server clock behind ours: the row is dated where it is listed, inside the outage,
        # after an event received before the outage; its note keeps the server's time.
        skewed = FlagEvent("rule.updated", "checkout", "env-1", 16, 400.0, "24", 1060.2)
        before = FlagEvent("rule.updated", "checkout", "env-1", 15, 990.0, "23", 990.0)
        pane.show("checkout", merge_history([skewed, outage, before], limit=10))
        await pilot.pause()
        times = [pane.get_row_at(row)[0].plain for row in range(3)]
        assert times == [fmt_clock(at, "utc", 0) for at in (1000.0, 1000.0, 990.0)]
        assert f"server {fmt_clock(400.0, 'utc', 0)}," in pane.get_row_at(1)[1].plain


def test_a_context_s_change_cut_to_the_pane_keeps_its_after_value() -> None:
    # At 80 columns the detail has 14 cells: `default false → true` was cut to
    # `default false…`, which reads as the old value.
    off, on = (
        Evaluation(False, "boolean", "default", True),
        Evaluation(True, "boolean", "rule", True),
    )
    change = ValueTransition("checkout-v2", off, on, "e1", 99.0, "default")
    for room in range(14, 22):
        detail = entry_cells(change, "utc", 100.0, room, contexts=True)[2].plain
        assert detail.endswith("→ true") and len(detail) <= room, (room, detail)
        # Some of the before value too: the name gives way to it (`[default] … → true`).
        assert " f" in detail and detail.startswith("[de"), (room, detail)
    detail = entry_cells(change, "utc", 100.0, 18, contexts=True)[2].plain
    assert detail == "[def… false → true"
    deleted = ValueTransition("checkout-v2", off, None, "e1", 99.0, "default")
    assert entry_cells(deleted, "utc", 100.0, 16, contexts=True)[2].plain == "[d… f… → deleted"


def test_a_short_context_s_change_keeps_its_after_value_too() -> None:
    # `[eu] true → false` in 15 cells was `[eu] true → fal…`.
    on, off = Evaluation(True, "boolean", "rule", True), Evaluation(False, "boolean", "rule", True)
    change = ValueTransition("checkout-v2", on, off, "e1", 99.0, "eu")
    for room in (13, 14, 15, 16):
        detail = entry_cells(change, "utc", 100.0, room, contexts=True)[2].plain
        assert detail.startswith("[eu] t") and "… → fa" in detail, (room, detail)
    assert entry_cells(change, "utc", 100.0, 15, contexts=True)[2].plain == "[eu] t… → false"


OFF, ON = Evaluation(False, "boolean", "rule", True), Evaluation(True, "boolean", "rule", True)
EVENT = FlagEvent("flag.updated", "checkout", "env-1", 38, 98.0, "48", 98.0)
PREMIUM = ValueTransition("checkout", OFF, ON, "48", 99.0, "premium")
EU = ValueTransition("checkout", OFF, ON, "48", 99.0, "eu")
ALONE = ValueTransition("checkout", ON, OFF, None, 99.5, "premium")  # no event explains it
OUTAGE = Outage(90.0, 95.0, 1, True, 95.0)


def lines(pane: HistoryPane) -> list[str]:
    return [pane.get_row_at(row)[1].plain.rstrip() for row in range(pane.row_count)]


async def test_in_a_narrow_pane_the_padding_gives_way_before_a_change_is_cut() -> None:
    """The what column kept 13 cells for `value` while `[eu] false → true` was cut; now the
    padding after `value` goes first."""
    app = Narrow()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        pane.contexts = ("default", "eu")
        pane.show("checkout", [EU, EVENT, OUTAGE])
        await pilot.pause()
        value, event, outage = lines(pane)
        assert value == "value [eu] false → true"
        # The rows that fit line their details up after the widest what.
        assert event == "flag.updated v38  id 48"
        assert outage.startswith("outage → ") and outage.endswith("…")  # gives way too


async def test_a_wide_pane_lines_every_detail_up() -> None:
    app = Wide()
    async with app.run_test(size=(120, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        pane.contexts = ("default", "premium")
        pane.show("checkout", [PREMIUM, EVENT, OUTAGE])
        await pilot.pause()
        value, event, outage = lines(pane)
        assert value == "value        [premium] false → true"
        assert event == "flag.updated v38  id 48"
        assert outage.startswith("outage       → ") and outage.endswith("may miss changes")
        header = pane.columns[ColumnKey("entry")].label.plain
        assert header.index("detail") == value.index("[")


async def test_a_history_row_knows_its_event() -> None:
    """`enter` opens it (main.py): an event's row, a value change's by the event it belongs to;
    an outage or a change no event explains has none."""
    app = Wide()
    async with app.run_test(size=(120, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        earlier = FlagEvent("flag.updated", "checkout", "env-1", 37, 50.0, "48", 50.0)  # reused id
        pane.show("checkout", [ALONE, PREMIUM, EVENT, OUTAGE, earlier])
        await pilot.pause()
        events = []
        for row in range(pane.row_count):
            pane.move_cursor(row=row)
            events.append(pane.selected_event)
        assert events == [None, EVENT, EVENT, None, earlier]
