"""How `tail` and `history` print a configuration diff (cli/render.py, cli/history_lines.py)."""

from __future__ import annotations

import io
import json

from togul_monitor.cli.history_lines import diff_lines
from togul_monitor.cli.render import MAX_DIFF_LINES, TailPrinter
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import CONDITION_SHOWN, Change, ConfigDiff
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


def under_event(out: io.StringIO) -> list[str]:
    """The lines after the event's own (printed first: a diff right under it)."""
    event_line, *rest = out.getvalue().splitlines()
    assert event_line.endswith("checkout-v2  production  v7")
    return rest


def test_tail_prints_a_line_per_change_under_the_event() -> None:
    tail, out = printer(as_json=False)
    tail.event(EVENT)
    diff = ConfigDiff("checkout-v2", "env-p", "e7", 7, (ROLLOUT, OFF))
    tail.config_change(diff, EVENT, 1_700_000_001.5)
    assert under_event(out) == [
        "  ↳ checkout-v2 (production): rollout 25% → 50% (rule 2: percentage by user_id)",
        "  ↳ checkout-v2 (production): rule 3 (plan in premium, enterprise) deactivated",
    ]


def test_tail_and_history_tell_two_rules_of_one_number_apart_by_their_condition() -> None:
    # Rules are numbered by their place after the change: a reorder gives another rule number 2.
    email = "email ends with @acme.test"
    moved = Change("rules[r1].priority", "changed", 0, 5, "r1", 2, email)
    tail, out = printer(as_json=False)
    tail.event(EVENT)
    tail.config_change(ConfigDiff("checkout-v2", "env-p", "e7", 7, (ROLLOUT,)), EVENT, 0.0)
    tail.config_change(ConfigDiff("checkout-v2", "env-p", "e8", 8, (moved,)), EVENT, 0.0)
    assert under_event(out) == [
        "  ↳ checkout-v2 (production): rollout 25% → 50% (rule 2: percentage by user_id)",
        f"  ↳ checkout-v2 (production): priority 0 → 5 (rule 2: {email})",
    ]
    head, detail = diff_lines(StoredDiff(ConfigDiff("checkout-v2", "env-p", "e8", 8, (moved,)), 0))
    assert head.endswith("config      priority 0→5 · rule 2  by event e8")
    assert detail.strip() == f"rule 2 ({email}): priority 0 → 5"


def test_a_long_condition_is_cut_on_a_tail_or_history_line() -> None:
    long = "country in " + ", ".join(f"C{i:02}" for i in range(40))
    rule = Change("rules[r4].is_active", "changed", True, False, "r4", 4, long)
    tail, out = printer(as_json=False)
    tail.event(EVENT)
    tail.config_change(ConfigDiff("k", "env-p", "e9", 9, (rule,)), EVENT, 0.0)
    cut = long[: CONDITION_SHOWN - 1] + "…"
    assert under_event(out) == [f"  ↳ k (production): rule 4 ({cut}) deactivated"]
    _, detail = diff_lines(StoredDiff(ConfigDiff("k", "e", "e9", 9, (rule,)), 0.0))
    assert detail.strip() == f"rule 4 ({cut}): deactivated"


def test_tail_caps_a_long_diff_and_marks_one_found_on_a_re_fetch() -> None:
    tail, out = printer(as_json=False)
    many = tuple(
        Change(f"default_value.k{i}", "changed", i, i + 1) for i in range(MAX_DIFF_LINES + 5)
    )
    tail.config_change(ConfigDiff("k\x1b", "env-x", None, None, many), None, 0.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == MAX_DIFF_LINES + 1
    assert lines[0] == "  · k\\x1b (env-x) [found on a re-fetch]: default.k0 0 → 1"
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
    head, rule = diff_lines(single)  # a rule's change: its line names the rule's condition
    assert head.endswith("by event e9") and rule.strip().startswith("rule 3 (plan in premium")
    switch = Change("enabled", "changed", True, False)
    (only,) = diff_lines(StoredDiff(ConfigDiff("k", "e", "e9", 9, (switch,)), 0.0))
    assert only.endswith("config      flag switched off  by event e9")
