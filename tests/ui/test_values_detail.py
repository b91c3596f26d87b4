"""`enter` on a values row: the flag's value for each context, whole (the pane cuts it to its
column), with its state; `e` there opens the detail of the flag's latest event in the feed."""

from __future__ import annotations

import io
from functools import partial
from typing import Any

from rich.console import Console
from textual.widgets import Static

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens.event_detail import EventDetailScreen, detail_text
from togul_monitor.ui.screens.values_detail import ValuesDetailScreen, context_rows, values_body
from togul_monitor.ui.view.change import value_text
from togul_monitor.ui.view.doubt import CURRENT_WORDS, STALE_WORDS

from .helpers import make_app, make_profile, wait_for, wait_live

WHEN: dict[str, Any] = {"evaluates": True, "now": 1_044.0, "time_mode": "utc"}
LONG = {"projects": 12, "seats": 500, "note": "a value far wider than any column of the pane"}


def value(context: str, answer: object, **kwargs: Any) -> FlagValue:
    fields: dict[str, Any] = {
        "current": Evaluation(answer, "json", "rule_match", True),
        "previous": None,
        "evaluated_at": 1_000.0,
        "trigger_event_id": "23",
        "stale": False,
        "deleted": False,
        "error": None,
        **kwargs,
    }
    return FlagValue(flag_key="feature-limits", context=context, **fields)


def rendered(body: object, width: int = 100) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as captured:
        console.print(body)
    return [line.rstrip() for line in captured.get().splitlines()]


def styles(body: object, *texts: str) -> list[str]:
    """The style each of `texts` is drawn with, as the terminal gets it (a Text's own style
    included, which its spans' styles are combined with)."""
    console = Console(width=100, file=io.StringIO(), color_system="truecolor")
    drawn = {seg.text: str(seg.style) for seg in console.render(body) if seg.text.strip()}
    return [drawn[text] for text in texts]


def test_an_answer_is_styled_alike_in_the_values_detail_and_the_event_detail() -> None:
    # As every screen does it: the label dim, the value bold, what the answer says besides dim.
    # The values detail drew the extras bold+dim, the event detail the value dim+bold.
    answer = Evaluation(True, "boolean", "rule_match", True)
    extras = "  type boolean, reason rule_match, enabled"
    held = value("default", None, current=answer)
    body = values_body("f", [("default", held)], **WHEN)
    assert styles(body, "value    ", "true", extras) == ["dim", "bold", "dim"]
    event = FlagEvent("flag.updated", "f", "env", 2, 1_040.0, "23", 1_041.0)
    change = ValueTransition("f", None, answer, "23", 1_041.0)
    detail = detail_text(event, [change], "utc")
    assert styles(detail, "  after  ", "true", extras) == ["dim", "bold", "dim"]


def test_each_context_says_its_whole_value_and_its_state() -> None:
    before = Evaluation(1, "number", "default", True)
    values = [
        ("premium", value("premium", LONG, previous=before)),
        ("free", value("free", 3, stale=True, error="evaluate answered HTTP 503")),
        ("eu", value("eu", 1, current=None, deleted=True)),
        ("x", None),
    ]
    rows = {
        name: [(label, text.plain) for label, text in context_rows(v, **WHEN)] for name, v in values
    }
    premium = rows["premium"]
    whole = value_text(Evaluation(LONG, None, None, None))
    assert premium[0] == ("value", f"{whole}  type json, reason rule_match, enabled")
    assert premium[1:] == [
        ("state", CURRENT_WORDS),
        ("answered", "1970-01-01 00:16:40Z (44s ago), for event 23"),
        ("before", "1  type number, reason default, enabled"),
    ]
    assert rows["free"][1:3] == [
        ("state", STALE_WORDS),
        ("error", "the last ask failed: evaluate answered HTTP 503"),
    ]
    assert rows["eu"][0][1].startswith("deleted")
    assert rows["x"] == [("value", "◌ not answered yet")]
    # A value wider than the screen wraps beside its label (never under it), whole.
    lines = rendered(values_body("feature-limits", values, **WHEN), width=60)
    assert "values for this profile's 4 contexts" in lines
    start = next(i for i, line in enumerate(lines) if line.startswith("    value     {"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i][:14].strip())
    assert end - start > 1 and all(not line[:14].strip() for line in lines[start + 1 : end])
    column = "".join(line[14:] for line in lines[start:end])
    assert column.replace(" ", "") == premium[0][1].replace(" ", "")


async def test_enter_on_a_values_row_shows_its_value_whole_and_e_its_latest_event(
    emulator: EmulatorHandle,
) -> None:
    """Before, `enter` opened the latest event's detail (its before → after, not the value now)
    and without one only said so: a cut value could be read whole only by copying it. The footer
    says `⏎ Detail` with the pane focused."""
    app = make_app(make_profile(emulator, watch=("feature-limits",)))
    said: list[str] = []
    notify = app.notify

    def noted(message: str, **kwargs: Any) -> None:
        said.append(message)
        notify(message, **kwargs)

    app.notify = noted  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        table = app.main.values_table
        await wait_for(pilot, lambda: "feature-limits" in table.values, what="the value")
        table.focus()
        table.move_cursor(row=table.get_row_index("feature-limits"))
        # The footer says so (it dropped `⏎ Detail` there: the table's own enter, unlabelled).
        await pilot.pause()
        enter = app.screen.active_bindings["enter"]
        assert enter.node is table and enter.binding.show, enter
        assert enter.binding.description == "Detail"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ValuesDetailScreen), what="values")
        screen = app.screen
        body = screen.query_one("#values-detail-body", Static)
        assert '{"projects":3,"seats":5}' in "\n".join(rendered(body.content))

        await pilot.press("e")  # no event of the flag in the feed yet: said, nothing opens
        await wait_for(pilot, lambda: any("No event of this flag" in m for m in said))
        assert app.screen is screen

        emulator.world.update_flag("production", "feature-limits", default_value=LONG)
        whole = value_text(Evaluation(LONG, None, None, None))
        wide = partial(rendered, width=300)  # no line wrapped
        await wait_for(pilot, lambda: whole in "\n".join(wide(body.content)), what="live")
        row = table.get_row_index("feature-limits")
        assert any(cell.plain.endswith("…") for cell in table.get_row_at(row)[1:])  # cut there
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the event")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the values")
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is app.main, what="closed")
