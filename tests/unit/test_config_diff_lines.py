"""How `tail` and `history` print a configuration diff (cli/render.py, cli/journal.py)."""

from __future__ import annotations

import io
import json

from togul_monitor.cli.history_lines import diff_lines
from togul_monitor.cli.render import MAX_DIFF_LINES, TailPrinter
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.store.schema import StoredDiff

ROLLOUT = Change(
    "rules[r2].rollout_percentage", "changed", 25, 50, "r2", 2, "percentage by user_id"
)
OFF = Change("rules[r3].is_active", "changed", True, False, "r3", 3, "plan in premium, enterprise")
EVENT = FlagEvent("rule.updated", "checkout-v2", "env-p", 7, 1_700_000_000, "e7", 1_700_000_001)


def printer(as_json: bool) -> tuple[TailPrinter, io.StringIO]:
    out = io.StringIO()
    names = {"env-p": "production"}
    return TailPrinter(out, io.StringIO(), as_json=as_json, environment_names=names, url=""), out


def test_tail_prints_a_line_per_change_under_the_event() -> None:
    tail, out = printer(as_json=False)
    diff = ConfigDiff("checkout-v2", "env-p", "e7", 7, (ROLLOUT, OFF))
    tail.config_change(diff, EVENT, 1_700_000_001.5)
    assert out.getvalue().splitlines() == [
        "  ↳ checkout-v2 (production): rollout 25% → 50% (rule 2)",
        "  ↳ checkout-v2 (production): rule 3 (plan in premium, enterprise) deactivated",
    ]


def test_tail_caps_a_long_diff_and_marks_one_found_on_a_re_fetch() -> None:
    tail, out = printer(as_json=False)
    many = tuple(
        Change(f"default_value.k{i}", "changed", i, i + 1) for i in range(MAX_DIFF_LINES + 5)
    )
    tail.config_change(ConfigDiff("k\x1b", "env-x", None, None, many), None, 0.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == MAX_DIFF_LINES + 1
    assert lines[0] == "  ↳ k\\x1b (env-x) [found on a re-fetch]: default.k0 0 → 1"
    assert lines[-1].endswith("… 5 more changes")


def test_tail_json_is_one_diff_object() -> None:
    tail, out = printer(as_json=True)
    tail.config_change(ConfigDiff("checkout-v2", "env-p", "e7", 7, (ROLLOUT,)), EVENT, 0.0)
    (row,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert row["kind"] == "diff" and row["event_id"] == "e7" and row["version"] == 7
    assert row["environment_key"] == "production" and row["event_type"] == "rule.updated"
    assert row["changes"][0]["after"] == 50 and row["at"] == "1970-01-01T00:00:00.000Z"


def test_history_shows_the_summary_then_each_change() -> None:
    stored = StoredDiff(ConfigDiff("checkout-v2", "env-p", None, 7, (ROLLOUT, OFF)), 0.0)
    head, *rest = diff_lines(stored)
    assert head.endswith("config      rollout 25→50% · rule 2 · +1 more  (v7)")
    assert [line.strip() for line in rest] == [
        "rule 2 (percentage by user_id): rollout 25% → 50%",
        "rule 3 (plan in premium, enterprise): deactivated",
    ]
    single = StoredDiff(ConfigDiff("k", "e", "e9", 9, (OFF,)), 0.0)
    assert len(diff_lines(single)) == 1 and diff_lines(single)[0].endswith("by event e9")
