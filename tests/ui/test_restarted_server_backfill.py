"""A server restarted between two recorded runs numbered its events from 1 again: after a restart
of the TUI, each recorded row shows its own value change, in the feed and in its detail, and `e`
writes the same events and value changes as `export` of that journal."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from click.testing import CliRunner
from textual.widgets import Static

from togul_monitor.cli import cli
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.files import journal_path
from togul_monitor.store.journal import Journal
from togul_monitor.ui.screens.event_detail import EventDetailScreen

from .helpers import feed_lines, make_app, make_profile, wait_for

FLAG = "support-tier"
CONTEXTS = ("default", "starter", "basic")


def text(value: str) -> Evaluation:
    return Evaluation(value, "string", "default", True)


def record_two_server_lives(env: str, t: float) -> None:
    """standard → post-1 … post-8 (ids 1-8), the server restarts (its world back to standard,
    found by the re-evaluation after the outage), then standard → second-1 … second-3 (ids 1-3
    again, 34 s and more after the first life's)."""
    journal = Journal.open(journal_path("p1"))
    journal.set_environment_names({env: "production"})
    lives = (("post", 8, t), ("second", 3, t + 34))
    for name, count, start in lives:
        before = "standard"
        for n in range(1, count + 1):
            at = start + n
            journal.append_events([FlagEvent("flag.updated", FLAG, env, n + 1, at, str(n), at)])
            for context in CONTEXTS:
                after = f"{name}-{n}"
                change = ValueTransition(FLAG, text(before), text(after), str(n), at + 0.1, context)
                journal.append_transition(change)
            before = after
        if name == "post":  # the restart: an outage, and the value found back at standard
            journal.append_outage(Outage(t + 10, t + 20, 0, True, t + 20))
            for context in CONTEXTS:
                found = ValueTransition(
                    FLAG, text("post-8"), text("standard"), None, t + 20.5, context, True
                )
                journal.append_transition(found)
    journal.close()


def lines_of(jsonl: str) -> list[str]:
    """The events and value changes an export wrote, as comparable lines: a found change's
    `environment_key` is the TUI's to know, not the journal's (README.md)."""
    kept = []
    for line in jsonl.splitlines():
        item = json.loads(line)
        if item["kind"] in ("event", "transition", "found"):
            if item["kind"] == "found":
                item.pop("environment_key")
            kept.append(json.dumps(item, sort_keys=True))
    return kept


async def test_each_life_s_event_of_an_id_shows_and_exports_its_own_change(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    env = emulator.credentials.environment_ids["production"]
    record_two_server_lives(env, time.time() - 120)
    # The server's value is the last recorded: a start's re-evaluation finds no change.
    emulator.world.update_flag("production", FLAG, default_value="second-3", publish=False)
    base = make_profile(emulator, name="p1", watch=(FLAG,))
    plans = {"default": "free", "starter": "starter", "basic": "basic"}
    profile = dataclasses.replace(
        base,
        context={"plan": "free"},
        contexts={name: {"plan": plan} for name, plan in plans.items() if name != "default"},
    )
    app = make_app(profile, export_dir=tmp_path / "exports")
    async with app.run_test(size=(200, 50)) as pilot:
        store = app.main.store
        await wait_for(pilot, lambda: store.recorded >= 11, what="the recorded rows")
        events = [row for row in store.view if type(row) is FlagEvent]
        assert [e.event_id for e in events] == [*"12345678", *"123"]
        shown = [line for line in feed_lines(app) if "flag.updated" in line]
        afters = ([f"post-{n}" for n in range(1, 9)], [f"second-{n}" for n in range(1, 4)])
        for line, after in zip(shown, [*afters[0], *afters[1]], strict=True):
            assert f'→ "{after}"' in line, line
        for event, after in zip(events, [*afters[0], *afters[1]], strict=True):
            changes = store.transitions_for(event)
            assert [(t.context, t.after.value) for t in changes] == [
                (context, after) for context in CONTEXTS
            ], event

        app.main.feed.move_to(store.view.index(events[0]))  # the first life's v2 (id 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        body = " ".join(str(app.screen.query_one("#detail-body", Static).render()).split())
        assert body.count('before "standard"') == 3 and body.count('after "post-1"') == 3, body
        assert "second-1" not in body, body
        await pilot.press("escape")

        await pilot.press("e")
        await wait_for(pilot, lambda: app.main.last_export is not None, what="the export")
        assert app.main.last_export is not None
        tui = lines_of(app.main.last_export.read_text())
    result = CliRunner().invoke(cli, ["export", "--format", "jsonl", "--profile", "p1"])
    assert result.exit_code == 0, result.output
    cli_lines = lines_of(result.stdout)
    assert len([line for line in cli_lines if '"transition"' in line]) == 33
    assert tui == cli_lines
