"""Before → after, legible at every width: whole where there is room, cut with `…` where there
is not, the selected row whole; what a row says when the value did not change; the values pane
of a profile that cannot evaluate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from togul_monitor.config.profiles import Profile
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.view.feed_expanded import EXPAND_INDENT
from togul_monitor.ui.view.rows import row_event

from .helpers import CONTEXT, make_app, make_profile, wait_for, wait_live

BEFORE, AFTER = "bm25-with-synonyms", "hybrid-dense-vector-v2"
LIMITS = {"currency": "USD", "limit": 10, "tiers": ["free", "pro"]}


def screen_lines(widget: Any) -> list[str]:
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


def expanded(feed: Any) -> str:
    """The selected row and the lines under it, as one text (the lines wrap anywhere)."""
    return "".join(line.plain[EXPAND_INDENT:] for line in feed.expansion)


async def make_changes(pilot: Any, app: Any, emulator: EmulatorHandle) -> None:
    world = emulator.world
    world.create_flag("production", "search-ranking", value_type="string", default_value=BEFORE)
    world.create_flag("production", "limits", value_type="json", default_value={"limit": 1})
    await wait_for(pilot, lambda: app.main.store.received == 2, what="the two new flags")
    values = app.main.values_table.values
    await wait_for(
        pilot, lambda: len(values) == 4 and all(v.current for v in values.values()), what="values"
    )
    world.update_flag("production", "search-ranking", default_value=AFTER)
    world.update_flag("production", "limits", default_value=LIMITS)
    world.update_flag("production", "checkout-v2", enabled=False)  # false (default → disabled)
    world.delete_flag("production", "new-dashboard")  # true → deleted
    # Each flag is re-evaluated about once a second at most (core/reevaluate.py).
    # Six: the new flags' first values (∅ → …), then the four changes.
    await wait_for(pilot, lambda: len(app.main.store.changes) == 6, timeout=15, what="six changes")
    await pilot.pause(0.3)  # a paint with every change


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_every_change_is_whole_or_visibly_cut_and_the_selected_one_whole(
    emulator: EmulatorHandle, size: tuple[int, int]
) -> None:
    # Watched, so their values are known before they change (a first value is no change).
    app = make_app(make_profile(emulator, watch=("new-dashboard", "checkout-v2")))
    async with app.run_test(size=size) as pilot:
        await wait_live(pilot, app)
        await make_changes(pilot, app, emulator)
        feed = app.main.feed
        wholes = {
            "search-ranking": f'"{BEFORE}" → "{AFTER}"',
            "limits": '{"limit":1} → ' + json.dumps(LIMITS, separators=(",", ":"), sort_keys=True),
            "checkout-v2": "false (default → disabled)",
            "new-dashboard": "true → deleted",
        }
        rows = [line for line in screen_lines(feed) if "flag.updated" in line or "deleted" in line]
        assert len(rows) == 4, screen_lines(feed)
        for key, change in wholes.items():
            (row,) = [r for r in rows if key[:8] in r]
            # Whole, or cut where a `…` says so: never `"bm25" (defaul` or `→ delet`.
            assert change in row or "…" in row, (key, row)
        if size[0] >= 200:  # room for all of it: nothing is cut
            assert all(change in "\n".join(rows) for change in wholes.values())
        # The selected row is shown whole, whatever the width.
        for _ in range(4):
            event = row_event(feed.cursor_item) if feed.cursor_item is not None else None
            assert event is not None
            shown = feed.expansion and expanded(feed) or screen_lines(feed)[feed.cursor]
            assert wholes[event.flag_key] in shown, (event.flag_key, shown)
            await pilot.press("up")
        if size[0] < 200:  # at 200 columns no row is cut, so none is expanded
            await pilot.press("end", "up", "up", "up")  # the long string change, selected
            assert feed.expansion, "a cut row is expanded under the cursor"


@pytest.mark.parametrize(("size", "whole"), [((80, 24), False), ((200, 50), True)])
async def test_the_values_pane_gives_a_value_the_width_the_pane_has(
    emulator: EmulatorHandle, size: tuple[int, int], whole: bool
) -> None:
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=size) as pilot:
        await wait_live(pilot, app)
        emulator.world.create_flag("production", "limits", value_type="json", default_value=LIMITS)
        table = app.main.values_table
        await wait_for(pilot, lambda: "limits" in table.values and table.values["limits"].current)
        await pilot.pause(0.3)
        cell = table.get_row("limits")[
            table.columns_shown.index(next(c for c in table.columns_shown if c[0] == "value"))
        ]
        text = json.dumps(LIMITS, separators=(",", ":"), sort_keys=True)
        if whole:
            assert cell.plain == text  # 43 characters, not 7 and `…`
        else:
            assert cell.plain.endswith("…") and text.startswith(cell.plain[:-1])
            assert len(cell.plain) > 8  # the pane's room, not a fixed 7


async def test_a_rule_change_that_moves_nothing_says_so(emulator: EmulatorHandle) -> None:
    """A rule.* row was blank where the change would be unless the value changed."""
    app = make_app(make_profile(emulator))  # new-dashboard watched: its value is known
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        values = app.main.values_table.values
        await wait_for(
            pilot, lambda: values.get("new-dashboard") and values["new-dashboard"].current
        )
        # Matches nobody here: this context's plan is premium.
        emulator.world.create_rule(
            "production",
            "new-dashboard",
            rule_type="attribute",
            attribute="plan",
            operator="eq",
            value_json=json.dumps("free"),
            return_value=True,
        )
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the rule.created row")
        feed = app.main.feed
        await wait_for(
            pilot,
            lambda: any("value unchanged for your context" in line for line in screen_lines(feed)),
            what="the answer",
        )
        (row,) = [line for line in screen_lines(feed) if "rule.created" in line]
        assert "new-dashboard" in row and "value unchanged for your context" in row


def token_only(emulator: EmulatorHandle) -> Profile:
    return Profile(
        name="token-only",
        base_url=emulator.base_url,
        environment_key="production",
        token=emulator.credentials.org_token,
        context=dict(CONTEXT),
        watch=("new-dashboard",),
        heartbeat_seconds=emulator.heartbeat,
    )


async def test_values_that_never_come_say_why_with_the_fix(emulator: EmulatorHandle) -> None:
    """A token-only profile showed `… ⟳` forever; only the log said why."""
    app = make_app(token_only(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        emulator.world.create_rule(
            "production", "checkout-v2", rule_type="boolean", return_value=True
        )
        await wait_for(pilot, lambda: app.main.store.shown == 2, what="the events")
        table = app.main.values_table
        await wait_for(pilot, lambda: "new-dashboard" in table.values, what="the watched flag")
        await pilot.pause(0.3)
        hint = app.query_one("#values-empty")
        await wait_for(pilot, lambda: hint.has_class("-shown"), what="the values pane's note")
        text = str(hint.render())
        assert "no api key: values are not evaluated" in text.lower()
        assert "api_key_env" in text and "E: edit this profile" in text  # and how to fix it
        cells = [table.get_row(key)[1].plain for key in table.values]
        assert cells and all(cell == "not evaluated" for cell in cells)
        assert not any("⟳" in cell or cell == "…" for cell in cells)
        rows = [line for line in screen_lines(app.main.feed) if "production" in line or "v" in line]
        assert any("not evaluated" in line for line in rows)
        status = app.query_one("#status")
        await wait_for(pilot, lambda: "not evaluated" in str(status.render()))  # still there too
