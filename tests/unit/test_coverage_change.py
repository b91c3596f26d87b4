"""domain/coverage_change.py: a configuration read after the run against the one read before it
(version, updated_at, content, a flag deleted), its words, and a tally marked changed keeping
only the value shares (no rule compared, in words and in JSON)."""

from __future__ import annotations

from msgspec.structs import replace

from togul_monitor.domain.coverage import CoverageTally
from togul_monitor.domain.coverage_change import ConfigChange, change_words, config_change
from togul_monitor.domain.coverage_words import result_lines, result_to_json

from .test_coverage_domain import ACME, HALF, flag

BEFORE = replace(flag(ACME, HALF), version=7, updated_at="2024-05-01T10:00:00Z")
TAIL = "the samples mix both configurations; run it again"


def test_the_same_configuration_is_no_change() -> None:
    assert config_change(BEFORE, replace(BEFORE)) is None


def test_a_change_is_named_by_version_then_updated_at_then_content() -> None:
    ninety = replace(HALF, rollout_percentage=10)
    bumped = replace(BEFORE, rules=(ACME, ninety), version=8, updated_at="2024-05-01T10:00:03Z")
    change = config_change(BEFORE, bumped)
    assert change == ConfigChange(7, 8, "2024-05-01T10:00:00Z", "2024-05-01T10:00:03Z")
    assert (
        change_words("checkout", change)
        == f"checkout changed during the run (version 7 → 8): {TAIL}"
    )
    # A server that gives no version: its updated_at; neither: the content alone.
    stamped = replace(bumped, version=None)
    change = config_change(replace(BEFORE, version=None), stamped)
    assert change is not None
    words = change_words("checkout", change)
    assert words == (
        "checkout changed during the run (updated 2024-05-01T10:00:00Z → 2024-05-01T10:00:03Z): "
        + TAIL
    )
    bare = replace(BEFORE, version=None, updated_at=None)
    change = config_change(bare, replace(bare, enabled=False))
    assert change is not None
    assert "(its rules or settings differ)" in change_words("checkout", change)


def test_a_version_bumped_with_the_same_content_is_a_change() -> None:
    # Edited and edited back during the run: the samples between saw the other configuration.
    assert config_change(BEFORE, replace(BEFORE, version=9)) is not None


def test_a_flag_gone_after_the_run_is_a_change() -> None:
    change = config_change(BEFORE, None)
    assert change is not None and change.deleted and change.version_after is None
    assert change_words("checkout", change).startswith("checkout was deleted during the run")


def test_a_changed_tally_keeps_the_value_shares_and_compares_no_rule() -> None:
    tally = CoverageTally(
        "checkout", {"free": {"email": "a@x.test"}}, BEFORE, samples=2, prefix="p"
    )
    tally.add("free", {"email": "a@x.test", "user_id": "u0"}, True, "rule_match")
    tally.add("free", {"email": "a@acme.test", "user_id": "u1"}, False, "default")  # contradicts
    tally.config_changed = config_change(BEFORE, replace(BEFORE, version=8))
    result = tally.result()
    (context,) = result.contexts
    assert context.rules == () and context.applicability == () and context.unexplained == 0
    assert [(v.value, v.count) for v in context.values] == [(True, 1), (False, 1)]
    assert result.config_known and result.flag_enabled is None
    lines = result_lines(result)
    assert lines == [
        f"checkout changed during the run (version 7 → 8): {TAIL}",
        "free: true 50 %, false 50 % (2 samples)",
    ]
    data = result_to_json(result)
    assert data["config_changed"]["version_before"] == 7
    assert data["config_changed"]["version_after"] == 8
    assert data["contexts"][0]["rules"] == [] and data["contexts"][0]["unexplained"] is None


def test_server_text_in_the_change_is_made_safe() -> None:
    change = ConfigChange(None, None, "a\x1b[31m", "[bold]b")
    words = change_words("k\x1b]0;x\x07", change)
    assert "\x1b" not in words and "\x07" not in words
