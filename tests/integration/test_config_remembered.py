"""A configuration change made while nobody watched is said at the next start as what it was
(the journal keeps each flag's latest configuration, core/configs.py), not as the flag's first
snapshot: with the event the server replays for it, or as found on a re-fetch."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.emulator.harness import EmulatorHandle

from .test_config_diffs import ENV, diffs_of, started
from .test_monitor import wait_for

FLAG = "search-algorithm"


async def test_a_change_made_between_two_runs_is_diffed_from_the_journals_configuration(
    emulator: EmulatorHandle,
) -> None:
    world = emulator.world
    monitor, rec = await started(emulator, name="between")
    try:  # an event with an id: the next run resumes after it, and the server replays
        await asyncio.to_thread(world.update_rule, ENV, "checkout-v2", 1, rollout_percentage=50)
        await wait_for(lambda: diffs_of(rec, "checkout-v2"), what="the first run's diff")
    finally:
        await monitor.stop()
    await asyncio.to_thread(world.update_flag, ENV, FLAG, default_value="neural")
    version = world.get_flag(ENV, FLAG).version
    monitor, rec = await started(emulator, name="between")
    try:
        await wait_for(lambda: diffs_of(rec, FLAG), what="the change made meanwhile")
        (update,) = diffs_of(rec, FLAG)
    finally:
        await monitor.stop()
    diff = update.diff
    assert not diff.first_seen
    got = [(c.path, c.kind, c.before, c.after) for c in diff.changes]
    assert got == [("default_value", "changed", "bm25", "neural")]
    # The replayed event's, when the fetch answered after it came; else found on a re-fetch.
    if update.event is not None:
        assert update.event.version == diff.version == version
    else:
        assert diff.found_by_refetch and diff.fetched_version == version
    history = await asyncio.to_thread(
        CliRunner().invoke, cli, ["history", FLAG, "--profile", "between", "--json"]
    )
    assert history.exit_code == 0, history.output
    rows = [json.loads(line) for line in history.output.splitlines()]
    (journalled,) = [r for r in rows if r["kind"] in ("diff", "found")]
    assert journalled["first_seen"] is False
    assert [(c["before"], c["after"]) for c in journalled["changes"]] == [("bm25", "neural")]
