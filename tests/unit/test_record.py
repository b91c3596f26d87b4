"""`record`'s pieces without a server: its log lines, its exit code over several profiles, and
what the metrics collector makes of a snapshot (values, bounds, labels)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from togul_monitor.cli import cli
from togul_monitor.cli.record import exit_code
from togul_monitor.cli.record_log import RecordLog
from togul_monitor.cli.record_metrics import (
    MAX_ENVIRONMENTS,
    MetricSource,
    ProfileCounts,
    RecorderCollector,
    flag_number,
    flag_numbers,
)
from togul_monitor.cli.record_run import Ending, ProfileRun
from togul_monitor.config.entry import Profile
from togul_monitor.core.snapshot import MonitorSnapshot
from togul_monitor.core.updates import Dropped, RecordingTaken
from togul_monitor.domain.events import ConnectionState, Outage, Status, StreamCounters
from togul_monitor.domain.values import Evaluation, FlagValue

from ..integration.test_record import parse_logfmt

KEY = "tgl_sdk_0123456789abcdef0123456789abcdef"


def logged(fmt: str, msg: str, **fields: object) -> str:
    out = io.StringIO()
    RecordLog(out, fmt=fmt, clock=lambda: 1_700_000_000.25).line("warn", msg, **fields)  # type: ignore[arg-type]
    return out.getvalue()


def test_a_logfmt_line_quotes_what_needs_it_and_stays_one_line() -> None:
    hostile = 'bad "flag"\n level=error msg=forged \x1b[2J\\'
    text = logged("logfmt", "malformed event", profile="prod", raw=hostile, n=3, ok=True, x=None)
    assert text.endswith("\n") and text.count("\n") == 1
    fields = parse_logfmt(text.rstrip("\n"))
    assert fields["ts"] == "2023-11-14T22:13:20.250Z"
    assert fields["level"] == "warn" and fields["msg"] == "malformed event"
    assert list(fields)[3] == "profile"
    assert fields["raw"] == 'bad "flag"\\x0a level=error msg=forged \\x1b[2J\\'
    assert (fields["n"], fields["ok"], fields["x"]) == ("3", "true", "")


def test_a_json_line_is_one_object_with_the_same_fields() -> None:
    text = logged("json", "stream state", profile="prod", error="a\nb", attempt=2)
    assert text.count("\n") == 1
    record = json.loads(text)
    assert record == {
        "ts": "2023-11-14T22:13:20.250Z",
        "level": "warn",
        "msg": "stream state",
        "profile": "prod",
        "error": "a\\x0ab",
        "attempt": 2,
    }


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_a_secret_in_a_field_is_masked(fmt: str) -> None:
    text = logged(fmt, "stream state", error=f"401 for key {KEY}")
    assert KEY not in text and "tgl_sdk_…cdef" in text


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError):
        RecordLog(io.StringIO(), fmt="xml")


@pytest.mark.parametrize(
    ("endings", "signalled", "code"),
    [
        ([Ending.CREDENTIALS, None], True, 0),
        ([None, None], True, 0),
        ([Ending.CREDENTIALS], False, 3),
        ([Ending.CREDENTIALS, Ending.CREDENTIALS], False, 3),
        ([Ending.CREDENTIALS, Ending.CONFIGURATION], False, 2),
        ([Ending.CONFIGURATION], False, 2),
        ([Ending.CREDENTIALS, Ending.FAILED], False, 1),
        ([Ending.FAILED], False, 1),
        ([None], False, 1),
    ],
)
def test_the_exit_code_of_several_profiles(
    endings: list[Ending | None], signalled: bool, code: int
) -> None:
    assert exit_code(endings, signalled=signalled) == code


def value(key: str, raw: object, value_type: str | None, context: str = "default") -> FlagValue:
    evaluation = Evaluation(raw, value_type, "default", True)
    return FlagValue(key, evaluation, None, 1.0, None, False, False, None, context)


def test_booleans_are_1_or_0_numbers_themselves_and_nothing_else_has_a_gauge() -> None:
    assert flag_number(value("a", True, "boolean")) == 1.0
    assert flag_number(value("a", False, None)) == 0.0
    assert flag_number(value("a", 2.5, "number")) == 2.5
    assert flag_number(value("a", 7, None)) == 7.0
    assert flag_number(value("a", "7", "string")) is None
    assert flag_number(value("a", {"n": 1}, "json")) is None
    blank = FlagValue("a", None, None, None, None, True, False, None)
    assert flag_number(blank) is None


def snapshot(**changes: object) -> MonitorSnapshot:
    base: dict[str, object] = {
        "profile_name": "prod",
        "environment_key": "production",
        "status": Status(ConnectionState.LIVE, 100.0),
        "last_heartbeat_at": 95.0,
        "counters": StreamCounters(events=5, malformed=1, duplicates=2, reconnects=3, gaps=4),
        "trimmed": 0,
        "dropped_updates": 0,
        "environment_id": "env-1",
        "environment_names": {"env-1": "production", "env-2": "staging"},
        "evaluate_requests": 9,
        "recording": True,
        "journal_pending": 4,
        "journal_dropped": 0,
    }
    base.update(changes)
    return MonitorSnapshot(**base)  # type: ignore[arg-type]


def test_flag_gauges_are_bounded_by_max_flags_watched_first() -> None:
    values = {k: value(k, True, "boolean") for k in ("a", "b", "c", "d")}
    premium = {k: value(k, False, "boolean", "premium") for k in ("a", "b", "c", "d")}
    snap = snapshot(
        contexts=("default", "premium"),
        context_values={"default": values, "premium": premium},
        max_flags=2,
        watched=frozenset({"d"}),
    )
    assert sorted(flag_numbers(snap)) == [
        ("default", "a", 1.0),
        ("default", "d", 1.0),
        ("premium", "a", 0.0),
        ("premium", "d", 0.0),
    ]


def test_event_counts_bound_their_labels() -> None:
    counts = ProfileCounts()
    counts.event("flag.updated", "env-1")
    counts.event("flag.updated", "env-1")
    counts.event("made.up", "env-1")
    for n in range(MAX_ENVIRONMENTS + 5):
        counts.event("flag.created", f"env-x{n}")
    events = counts.copy().events
    assert events[("flag.updated", "env-1")] == 2
    assert events[("other", "env-1")] == 1
    assert events[("flag.created", "other")] == 6  # 5 past the limit, and env-1 took a place
    assert len({env for _, env in events}) == MAX_ENVIRONMENTS + 1


def test_the_collector_reads_a_snapshot_at_scrape_time() -> None:
    current = [snapshot(context_values={"default": {"x\n": value("x\n", 3, "number")}})]
    source = MetricSource("prod", lambda: current[0])
    source.counts.event("flag.updated", "env-1")
    source.counts.event("flag.deleted", "env-2")
    source.counts.outage()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector := RecorderCollector(clock=lambda: 100.0))
    collector.add(source)

    def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = generate_latest(registry).decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    got = samples()
    p = (("profile", "prod"),)
    assert (
        got[("togul_events_total", (("environment", "production"), *p, ("type", "flag.updated")))]
        == 1
    )
    assert (
        got[("togul_events_total", (("environment", "staging"), *p, ("type", "flag.deleted")))] == 1
    )
    assert got[("togul_heartbeat_age_seconds", p)] == 5.0
    assert got[("togul_stream_state", (*p, ("state", "live")))] == 1.0
    assert got[("togul_stream_state", (*p, ("state", "stopped")))] == 0.0
    assert got[("togul_reconnects_total", p)] == 3.0
    assert got[("togul_malformed_events_total", p)] == 1.0
    assert got[("togul_duplicate_events_total", p)] == 2.0
    assert got[("togul_possible_gaps_total", p)] == 4.0
    assert got[("togul_outages_total", p)] == 1.0
    assert got[("togul_evaluate_requests_total", p)] == 9.0
    assert got[("togul_journal_pending", p)] == 4.0
    flag = (("context", "default"), ("environment", "production"), ("flag", "x\\x0a"), *p)
    assert got[("togul_flag_value", flag)] == 3.0  # a control character in a key is escaped

    current[0] = snapshot(status=Status(ConnectionState.STOPPED, 101.0), last_heartbeat_at=None)
    got = samples()
    assert got[("togul_stream_state", (*p, ("state", "stopped")))] == 1.0
    assert ("togul_heartbeat_age_seconds", p) not in got
    assert not any(name == "togul_flag_value" for name, _ in got)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--all", "--profile", "a"], "give only one of --profile, --all and --demo"),
        (["--demo", "--all"], "give only one of --profile, --all and --demo"),
        (["--all"], "--all: no saved profile to record"),
        (["--profile", "nope"], "no profile named 'nope'"),
    ],
)
def test_usage_errors_exit_2_before_anything_starts(args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, ["record", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output


def test_why_journal_writes_fail_is_logged_once_per_reason() -> None:
    out = io.StringIO()
    profile = Profile(name="prod", base_url="http://127.0.0.1:1", environment_key="production")
    run = ProfileRun(profile, RecordLog(out), RecorderCollector(), asyncio.Event())
    full = "database or disk is full"
    for dropped, error in (
        (0, None),
        (2009, full),
        (4100, full),
        (4100, full),
        (5000, "integer out of range\nDETAIL: value 99999999999999999999"),
        (6000, full),
    ):
        run._check_journal(snapshot(journal_dropped=dropped, journal_write_error=error))
    lines = [parse_logfmt(line) for line in out.getvalue().splitlines()]
    said = [(line["msg"], line.get("error") or line.get("dropped")) for line in lines]
    assert said == [
        ("journal", full),
        ("journal dropped rows", "2009"),
        ("journal dropped rows", "4100"),
        ("journal", "integer out of range"),
        ("journal dropped rows", "5000"),
        ("journal", full),
        ("journal dropped rows", "6000"),
    ]
    assert all(line["level"] == "error" and line["profile"] == "prod" for line in lines)


async def test_a_recording_taken_over_is_logged() -> None:
    # A profile another process recorded logs `not recording` at its start; once that process
    # has gone the monitor records it (core/takeover.py). Before, the log said nothing more.
    out = io.StringIO()
    profile = Profile(name="prod", base_url="http://127.0.0.1:1", environment_key="production")
    run = ProfileRun(profile, RecordLog(out), RecorderCollector(), asyncio.Event())

    async def updates() -> AsyncIterator[object]:
        yield RecordingTaken(1.0)

    assert await run._read(None, updates()) is None  # type: ignore[arg-type]
    (line,) = [parse_logfmt(line) for line in out.getvalue().splitlines()]
    assert (line["level"], line["msg"], line["profile"]) == ("info", "journal", "prod")
    assert line["notice"] == "recording now: the profile's recorder has gone"


async def test_updates_lost_behind_the_stream_are_logged_where_they_were() -> None:
    # A recorder that fell behind its updates gets a `Dropped` where they were
    # (core/updates.py): its log says how many, before the outage kept through the loss.
    out = io.StringIO()
    profile = Profile(name="prod", base_url="http://127.0.0.1:1", environment_key="production")
    run = ProfileRun(profile, RecordLog(out), RecorderCollector(), asyncio.Event())

    async def updates() -> AsyncIterator[object]:
        yield Dropped(updates=5, rows=4, events=3)
        yield Outage(5.0, 6.0, 0, True, 7.0)

    assert await run._read(None, updates()) is None  # type: ignore[arg-type]
    lost, outage = [parse_logfmt(line) for line in out.getvalue().splitlines()]
    assert (lost["level"], lost["msg"], lost["profile"]) == ("warn", "updates lost", "prod")
    assert (lost["events"], lost["other_updates"]) == ("3", "2")
    assert outage["msg"] == "outage"
