"""Configuration diffs against the emulator with a token profile: each kind of edit gives exactly
its diff, tied to its event, journalled and read back by `history` and `export`; a burst of 500
edits costs a handful of fetches; a restart without replay converges (core/configs.py)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.core import ConfigChanged, Monitor
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import FlagConfig, diff_to_json, parse_flag
from togul_monitor.domain.history import FoundDiff
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.emulator.world import World
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import read_config_diffs

from .test_monitor import Recorder, make_profile, wait_for

ENV = "production"


async def started(emu: EmulatorHandle, name: str = "cfg") -> tuple[Monitor, Recorder]:
    profile = make_profile(emu, name=name, token=emu.credentials.org_token, watch=())
    monitor = Monitor(profile)
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    await wait_for(lambda: emu.open_streams == 1, what="stream open")
    await wait_for(lambda: monitor.snapshot().config_state == "complete", what="configs loaded")
    return monitor, recorder


def rule_id(world: World, flag: str, index: int) -> str:
    return world.get_flag(ENV, flag).sorted_rules()[index].id


def world_config(world: World, flag: str) -> FlagConfig:
    f = world.get_flag(ENV, flag)
    return parse_flag({"flag": f.to_api(), "rules": [r.to_api() for r in f.sorted_rules()]})


def event_of(monitor: Monitor, flag: str) -> bool:
    return any(event.flag_key == flag for event in monitor.events())


def diffs_of(rec: Recorder, flag: str) -> list[ConfigChanged]:
    return [u for u in rec.of(ConfigChanged) if u.diff.flag_key == flag]


# Each edit: (flag, the edit, the expected changes as (path, kind, before, after, rule number)).
Edit = Callable[[World], object]
EDITS: list[tuple[str, Edit, list[tuple[str, str, Any, Any, int | None]]]] = [
    (
        "checkout-v2",
        lambda w: w.update_rule(ENV, "checkout-v2", 1, rollout_percentage=50),
        [("rules[{r1}].rollout_percentage", "changed", 25, 50, 2)],
    ),
    (
        "new-dashboard",
        lambda w: w.update_rule(ENV, "new-dashboard", 0, is_active=False),
        [("rules[{r0}].is_active", "changed", True, False, 1)],
    ),
    (
        "cache-ttl-seconds",
        lambda w: w.update_rule(ENV, "cache-ttl-seconds", 0, is_active=True),
        [("rules[{r0}].is_active", "changed", False, True, 1)],
    ),
    (
        "beta-search",
        lambda w: w.update_rule(ENV, "beta-search", 0, operator="eq", value_json='"beta-1"'),
        [
            ("rules[{r0}].operator", "changed", "starts_with", "eq", 1),
            ("rules[{r0}].value_json", "changed", '"beta-"', '"beta-1"', 1),
        ],
    ),
    (
        "dark-mode",
        lambda w: w.create_rule(
            ENV, "dark-mode", rule_type="percentage", rollout_percentage=10, return_value=False
        ),
        [("rules[{new}]", "added", None, "*", 2)],
    ),
    (
        "welcome-message",
        lambda w: w.delete_rule(ENV, "welcome-message", 1),
        [("rules[{r1}]", "removed", "*", None, 2)],
    ),
    (
        "search-algorithm",
        lambda w: w.update_flag(ENV, "search-algorithm", default_value="vector"),
        [("default_value", "changed", "bm25", "vector", None)],
    ),
    (
        "maintenance-banner",
        lambda w: w.update_flag(ENV, "maintenance-banner", enabled=True),
        [("enabled", "changed", False, True, None)],
    ),
    (
        "legacy-export",
        lambda w: w.delete_flag(ENV, "legacy-export"),
        [("flag", "removed", "*", None, None)],
    ),
    (
        "brand-new",
        lambda w: w.create_flag(ENV, "brand-new", name="Brand new", value_type="boolean"),
        [("flag", "added", None, "*", None)],
    ),
]


async def test_each_kind_of_edit_gives_its_diff_tied_to_its_event_and_journalled(
    emulator_any: EmulatorHandle,
) -> None:
    world = emulator_any.world
    monitor, rec = await started(emulator_any)
    published: list[ConfigChanged] = []
    try:
        for flag, edit, expected in EDITS:
            order = _ordered(world, flag) if flag != "brand-new" else []
            flag_id = None if flag == "brand-new" else world.get_flag(ENV, flag).id
            ids = {f"r{i}": rule for i, rule in enumerate(order)}
            result = await asyncio.to_thread(edit, world)
            if flag == "dark-mode":
                ids["new"] = result.id  # type: ignore[attr-defined]
            await wait_for(lambda flag=flag: diffs_of(rec, flag), what=f"the diff of {flag}")
            (update,) = diffs_of(rec, flag)
            published.append(update)
            got = [(c.path, c.kind, c.before, c.after, c.rule_number) for c in update.diff.changes]
            want = [
                (
                    path.format_map(ids),
                    kind,
                    got[i][2] if before == "*" else before,
                    got[i][3] if after == "*" else after,
                    number,
                )
                for i, (path, kind, before, after, number) in enumerate(expected)
            ]
            assert got == want, flag
            (event,) = [e for e in rec.of(FlagEvent) if e.flag_key == flag]
            assert update.event == event  # tied to the event that made it
            assert update.diff.version == event.version
            assert update.diff.event_id == event.event_id  # None in the documented form
            assert not update.diff.first_seen
            # The flag's own id (a deleted one's before): which flag of the key it was.
            assert update.diff.flag_id == (flag_id or world.get_flag(ENV, flag).id)
        configs = monitor.flag_configs()
        assert "legacy-export" not in configs and "brand-new" in configs
        assert configs["checkout-v2"] == world_config(world, "checkout-v2")
        # Rule ids are stable (the diffs above matched rules by the ids read before each edit);
        # updated_at and the version move with every change.
        assert configs["checkout-v2"].updated_at is not None
        assert configs["checkout-v2"].version == published[0].diff.version
    finally:
        await monitor.stop()
    stored = read_config_diffs(journal_path("cfg"))[::-1]
    assert [s.diff for s in stored] == [u.diff for u in published]

    runner = CliRunner()
    history = await asyncio.to_thread(
        runner.invoke, cli, ["history", "checkout-v2", "--profile", "cfg", "--json"]
    )
    assert history.exit_code == 0, history.output
    rows = [json.loads(line) for line in history.output.splitlines()]
    assert [r["kind"] for r in rows[:2]] == ["diff", "event"]  # newest first: above its event
    assert rows[0]["changes"] == diff_to_json(published[0].diff)["changes"]
    assert rows[0]["version"] == rows[1]["version"]
    human = await asyncio.to_thread(
        runner.invoke, cli, ["history", "checkout-v2", "--profile", "cfg", "--limit", "1"]
    )
    assert "config      rollout 25→50% · rule 2" in human.output
    export = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--profile", "cfg", "--format", "jsonl"]
    )
    lines = [json.loads(line) for line in export.output.splitlines()]
    exported = [line for line in lines if line.get("kind") == "diff"]
    assert [d["changes"] for d in exported] == [diff_to_json(u.diff)["changes"] for u in published]
    first = lines.index(exported[0])
    assert lines[first - 1]["flag_key"] == "checkout-v2"  # right after its event


def _ordered(world: World, flag: str) -> list[str]:
    return [r.id for r in world.get_flag(ENV, flag).sorted_rules()]


async def test_a_burst_of_500_edits_costs_a_handful_of_fetches_and_ends_right(
    emulator_any: EmulatorHandle,
) -> None:
    world = emulator_any.world
    monitor, rec = await started(emulator_any, name="burst")
    flag_id = world.get_flag(ENV, "checkout-v2").id
    path = f"/api/v1/projects/{emulator_any.credentials.project_id}/flags/{flag_id}"
    try:
        fetches = emulator_any.requests.count("GET", path)

        def burst() -> None:
            for i in range(500):
                world.update_rule(ENV, "checkout-v2", 1, rollout_percentage=i % 100)
            world.update_rule(ENV, "checkout-v2", 1, rollout_percentage=77)

        await asyncio.to_thread(burst)
        final = world_config(world, "checkout-v2")
        await wait_for(
            lambda: len([e for e in rec.of(FlagEvent) if e.flag_key == "checkout-v2"]) == 501,
            what="501 events",
        )
        # The last diff ends on the final rollout. It is the final event's unless a fetch in the
        # burst happened to read a state equal to the final one (rollout 77 at i = 77, 177, …):
        # then the final fetch finds nothing changed and publishes nothing.
        await wait_for(
            lambda: (
                monitor.flag_configs().get("checkout-v2") == final
                and monitor.configs_idle()
                and bool(diffs_of(rec, "checkout-v2"))
                and diffs_of(rec, "checkout-v2")[-1].diff.changes[-1].after == 77
            ),
            what="the final snapshot",
        )
        cost = emulator_any.requests.count("GET", path) - fetches
        assert 1 <= cost <= 6, cost  # measured: 2
        last = diffs_of(rec, "checkout-v2")[-1]
        assert last.event is not None and last.diff.version == last.event.version
        # Tied to an event whose edit set rollout 77 (the server may answer a fetch before it
        # streams the event of that version: the diff waits for it, never names an older one).
        first = final.version - 500  # the version of edit i = 0
        made_77 = {final.version} | {first + i for i in range(500) if i % 100 == 77}
        assert last.event.version in made_77, last.event.version
    finally:
        await monitor.stop()


async def test_after_a_restart_without_replay_the_snapshots_converge(
    emulator_any: EmulatorHandle,
) -> None:
    world = emulator_any.world
    monitor, rec = await started(emulator_any, name="outage")
    try:
        emulator_any.faults.cut_streams()
        world.update_rule(ENV, "checkout-v2", 1, rollout_percentage=60)
        world.delete_flag(ENV, "legacy-export")
        world.create_flag(ENV, "made-while-down", name="Made while down")
        emulator_any.faults.forget_replay()  # the "restart": those events are never sent
        await wait_for(lambda: rec.of(Outage), what="an outage")
        listed = {f.key for f in world.list_flags(ENV)}
        final = world_config(world, "checkout-v2")
        changed = {"checkout-v2", "legacy-export", "made-while-down"}
        await wait_for(
            lambda: (
                set(monitor.flag_configs()) == listed
                and monitor.flag_configs()["checkout-v2"] == final
                and {u.diff.flag_key for u in rec.of(ConfigChanged)} == changed
            ),
            what="convergence",
        )
        assert rec.of(FlagEvent) == []
        found = {u.diff.flag_key: u for u in rec.of(ConfigChanged)}
        assert len(rec.of(ConfigChanged)) == 3
        assert all(u.event is None for u in found.values())  # found by the re-fetch
        assert [c.after for c in found["checkout-v2"].diff.changes] == [60]
        # Its identity in a shared journal: the version the re-fetch read, not an event's.
        assert found["checkout-v2"].diff.fetched_version == final.version
        assert found["checkout-v2"].diff.found_by_refetch
        assert found["legacy-export"].diff.fetched_version is None  # gone: no version read
        assert [c.kind for c in found["legacy-export"].diff.changes] == ["removed"]
        assert [c.kind for c in found["made-while-down"].diff.changes] == ["added"]
        # The flag's history (the TUI's pane) has the change as a row of its own.
        (row,) = [e for e in monitor.history("checkout-v2") if isinstance(e, FoundDiff)]
        assert row.diff == found["checkout-v2"].diff
    finally:
        await monitor.stop()


async def test_without_a_usable_token_there_are_no_diffs_and_the_snapshot_says_why(
    emulator: EmulatorHandle,
) -> None:
    monitor = Monitor(make_profile(emulator, name="plain"), record=False)
    await monitor.start()
    try:
        snapshot = monitor.snapshot()
        assert snapshot.config_state == "needs a token profile"
        assert not [n for n in snapshot.notices if "token profile" in n]  # views say it
        assert monitor.flag_configs() == {}
    finally:
        await monitor.stop()
    refused = Monitor(make_profile(emulator, name="bad", token="not-a-valid-token"), record=False)
    await refused.start()  # the lookup fails: the API key streams, no configurations
    try:
        assert refused.snapshot().config_state == "failed: the environment lookup failed"
    finally:
        await refused.stop()


async def tail_two_edits(
    emulator: EmulatorHandle, name: str, second: Edit, *, record: bool
) -> tuple[str, str]:
    """`tail --json --count 2` of a token profile: checkout-v2's first rule to 50 %, once the
    configurations are loaded, then `second` once the first diff is out; stdout and stderr."""
    from togul_monitor.cli.tail import run_tail

    profile = make_profile(emulator, name=name, token=emulator.credentials.org_token, watch=())
    out, err = io.StringIO(), io.StringIO()
    tail = asyncio.create_task(
        run_tail(profile, query=None, count=2, as_json=True, out=out, err=err, record=record)
    )
    flags = f"/api/v1/projects/{emulator.credentials.project_id}/flags/"
    listed = len(emulator.world.list_flags(ENV))
    await wait_for(lambda: emulator.open_streams == 1, what="stream open")
    await wait_for(lambda: emulator.requests.count("GET", flags) >= listed, what="configs loaded")
    world = emulator.world
    await asyncio.to_thread(world.update_rule, ENV, "checkout-v2", 1, rollout_percentage=50)
    await wait_for(lambda: '"kind":"diff"' in out.getvalue(), what="the first diff")
    await asyncio.to_thread(second, world)
    assert await asyncio.wait_for(tail, 10) == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


async def test_a_recording_tail_prints_each_diff_after_its_event(emulator: EmulatorHandle) -> None:
    """`tail --json` (recording: each line printed once journalled, cli/tail_record.py)."""
    out, _ = await tail_two_edits(
        emulator,
        "tailcfg",
        lambda w: w.update_rule(ENV, "new-dashboard", 0, is_active=False),
        record=True,
    )
    rows = [json.loads(line) for line in out.splitlines()]
    rows = [r for r in rows if r["kind"] in ("event", "diff")]
    assert [(r["kind"], r["flag_key"]) for r in rows] == [
        ("event", "checkout-v2"),
        ("diff", "checkout-v2"),
        ("event", "new-dashboard"),
        ("diff", "new-dashboard"),
    ]
    for event, diff in (rows[0:2], rows[2:4]):
        assert diff["event_id"] == event["id"] and diff["version"] == event["version"]
        assert diff["environment_key"] == ENV and diff["event_type"] == "rule.updated"
    assert [(c["path"].split(".")[-1], c["before"], c["after"]) for c in rows[1]["changes"]] == [
        ("rollout_percentage", 25, 50)
    ]
    assert rows[3]["changes"][0]["after"] is False
    stored = read_config_diffs(journal_path("tailcfg"))
    assert len(stored) == 2  # everything printed was journalled


async def test_at_most_max_flags_configurations_are_followed(emulator: EmulatorHandle) -> None:
    # Flag keys come from the server: configurations are bounded like the values.
    profile = make_profile(emulator, name="few", token=emulator.credentials.org_token, watch=())
    monitor = Monitor(profile, max_flags=3)
    await monitor.start()
    try:
        await wait_for(lambda: monitor.snapshot().config_state == "complete", what="loaded")
        held = set(monitor.flag_configs())
        assert len(held) == 3
        prefix = f"/api/v1/projects/{emulator.credentials.project_id}/flags/"
        before = emulator.requests.count("GET", prefix)
        other = next(f.key for f in emulator.world.list_flags(ENV) if f.key not in held)
        await asyncio.to_thread(emulator.world.update_flag, ENV, other, enabled=False)
        mine = sorted(held)[0]
        await asyncio.to_thread(emulator.world.update_flag, ENV, mine, description="changed")
        await wait_for(
            lambda: monitor.configs_idle() and emulator.requests.count("GET", prefix) > before,
            what="the held flag's fetch",
        )
        await wait_for(monitor.configs_idle, what="idle")
        assert set(monitor.flag_configs()) == held  # the other flag was not taken on
    finally:
        await monitor.stop()


async def test_count_waits_for_the_diff_of_its_last_event_though_that_fetch_is_paced(
    emulator: EmulatorHandle,
) -> None:
    """Two edits of one flag in a row: the second's fetch waits out the flag's pacing interval
    (core/config_fetch.py), longer than its value's answer takes. `--count 2` still prints that
    diff: what the count owes includes the configuration fetches, and they are sent at once."""
    out, err = await tail_two_edits(
        emulator,
        "paced",
        lambda w: w.update_rule(ENV, "checkout-v2", 1, rollout_percentage=75),
        record=False,
    )
    rows = [json.loads(line) for line in out.splitlines()]
    diffs = [r for r in rows if r["kind"] == "diff"]
    assert [d["changes"][0]["after"] for d in diffs] == [50, 75], rows
    assert "exiting before" not in err


async def test_what_the_count_owes_includes_the_fetch_of_a_flag_just_created(
    emulator: EmulatorHandle,
) -> None:
    """A new flag's id must be learned from a listing (at most one a second,
    core/config_ids.py) before its configuration can be fetched: a mark made meanwhile owes
    that fetch too. The first flag made sets the listing's clock; the second waits for it."""
    monitor, rec = await started(emulator)
    world = emulator.world
    try:
        for key in ("made-first", "made-second"):
            await asyncio.to_thread(world.create_flag, ENV, key, name=key, value_type="boolean")
            await wait_for(partial(event_of, monitor, key), what=f"the event of {key}")
        mark = monitor._configs.answered_mark()  # the fetches' part of `answered_mark`
        await wait_for(mark, what="answered")
        assert "made-second" in monitor.flag_configs()  # its snapshot came before the mark
        # Published before the mark too: the recorder's task takes it on one of its next turns
        # (a loaded machine may run the waiting loop first).
        await wait_for(lambda: diffs_of(rec, "made-second"), what="its diff recorded")
    finally:
        await monitor.stop()
