"""Named contexts on the headless commands' lines: `tail` names a transition's context when the
profile has named contexts (and prints exactly what it did when it has only `default`),
`--json` always carries it, `tail --context` keeps the named ones, `history` names them once a
transition of a named context is shown, and `wait --context` knows only the profile's names."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from msgspec.structs import replace

from togul_monitor.cli import cli
from togul_monitor.cli.change_words import change_text
from togul_monitor.cli.common import check_context_names
from togul_monitor.cli.history_lines import history_line, names_contexts
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail_scope import TailScope
from togul_monitor.cli.wait import choose_context
from togul_monitor.config.entry import Profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition
from togul_monitor.store.journal import Journal, journal_path

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "rule_match", True)


def printer(
    contexts: tuple[str, ...],
    *,
    as_json: bool = False,
    environment_key: str = "",
    under: str | None = None,
) -> tuple[TailPrinter, io.StringIO]:
    """A tail; `under`: its last printed line is that flag's event, of id 7 (the value lines
    that follow are that event's), and `out` holds what comes after it."""
    out = io.StringIO()
    p = TailPrinter(
        out,
        io.StringIO(),
        as_json=as_json,
        environment_names={},
        url="http://h/s",
        environment_key=environment_key,
        contexts=contexts,
    )
    if under is not None:
        p.event(FlagEvent("rule.updated", under, environment_key, 7, 1.0, "7", 1.0))
        out.seek(0)
        out.truncate()
    return p, out


def change(context: str = "default") -> ValueTransition:
    return ValueTransition("checkout-v2", OFF, ON, "7", 1_700_000_000.0, context)


def test_with_named_contexts_each_transition_line_names_its_context() -> None:
    p, out = printer(("premium", "free"), under="checkout-v2")
    p.transition(change("premium"))
    p.transition(change("free"))
    assert out.getvalue().splitlines() == [
        "  ↳ checkout-v2 [premium]: false → true (reason default → rule_match)",
        "  ↳ checkout-v2 [free]: false → true (reason default → rule_match)",
    ]
    p, out = printer(("default", "eu"), environment_key="production", under="checkout-v2")
    p.transition(change())
    assert out.getvalue() == (
        "  ↳ checkout-v2 [default] (production): false → true (reason default → rule_match)\n"
    )


def test_with_the_default_context_only_lines_are_as_before() -> None:
    p, out = printer(("default",), environment_key="production", under="checkout-v2")
    p.transition(change())
    assert out.getvalue() == (
        "  ↳ checkout-v2 (production): false → true (reason default → rule_match)\n"
    )
    p, out = printer(("premium",), under="checkout-v2")  # a single context, but named: named
    p.transition(change("premium"))
    assert out.getvalue().startswith("  ↳ checkout-v2 [premium]: ")


def test_a_context_name_is_printed_as_plain_text() -> None:
    p, out = printer(("a", "b"))
    p.transition(change("[bold]x\x1b[2J"))
    assert "\x1b" not in out.getvalue()


def test_json_transitions_always_carry_their_context() -> None:
    for contexts, context in ((("default",), "default"), (("premium", "free"), "free")):
        p, out = printer(contexts, as_json=True)
        p.transition(change(context))
        data = json.loads(out.getvalue())
        assert data["kind"] == "transition" and data["context"] == context


def test_tail_context_keeps_the_transitions_of_the_named_contexts() -> None:
    p, _ = printer(("premium", "free", "eu"))

    def scope(contexts: tuple[str, ...]) -> TailScope:
        return TailScope(
            p,
            query=None,
            environment_key="",
            known_names=dict,
            environment_id=lambda: None,
            contexts=contexts,
        )

    only = scope(("premium", "eu"))
    assert only.event(FlagEvent("flag.updated", "checkout-v2", "env", 2, 1.0, "7", 1.0))
    assert only.transition(change("premium")) and only.transition(change("eu"))
    assert not only.transition(change("free"))
    every = scope(())
    assert every.transition(change("free"))


def first(context: str = "default", evaluation: Evaluation = OFF) -> FlagValue:
    return FlagValue(
        "new\x1b[2J", evaluation, None, 1_700_000_000.0, "7", False, False, None, context
    )


def test_a_first_value_is_printed_as_its_context_and_scope_say() -> None:
    p, out = printer(("premium", "free"), environment_key="production", under="new\x1b[2J")
    p.first_value(first("premium"))
    assert out.getvalue() == (
        "  ↳ new\\x1b[2J [premium] (production): now false (first value, reason default)\n"
    )
    p, out = printer(("default",), as_json=True, environment_key="production")
    p.first_value(first(evaluation=Evaluation(0.5, "number", "rule_match", True)))
    assert json.loads(out.getvalue()) == {
        "kind": "first_value",
        "flag_key": "new\x1b[2J",
        "environment_key": "production",
        "value": {"value": 0.5, "value_type": "number", "reason": "rule_match", "enabled": True},
        "event_id": "7",
        "at": "2023-11-14T22:13:20.000Z",
        "context": "default",
    }
    only = TailScope(
        p,
        query=None,
        environment_key="",
        known_names=dict,
        environment_id=lambda: None,
        contexts=("premium",),
    )
    assert only.first_value(first("premium")) and not only.first_value(first("free"))


def test_a_first_value_tied_to_no_event_says_it_was_found_on_re_evaluation() -> None:
    p, out = printer(("default",), environment_key="production")
    p.ids_seen = True  # the stream sends ids: one without is no event's
    p.first_value(replace(first(), trigger_event_id=None))
    assert out.getvalue().startswith("  · new\\x1b[2J (production) [found on re-evaluation]: ")


def test_an_unknown_context_is_named_with_the_known_ones() -> None:
    named = {"premium": {"plan": "premium"}, "free": {"plan": "free"}}
    check_context_names(_profile(contexts=named), ("premium",))
    check_context_names(_profile(), ())
    with pytest.raises(click.UsageError) as info:
        check_context_names(_profile(contexts=named), ("premium", "gold"))
    assert info.value.message == "unknown context gold: profile p evaluates for premium, free"


def test_history_names_contexts_once_a_named_one_is_shown() -> None:
    default, premium = change(), change("premium")
    assert not names_contexts([default, FlagEvent("flag.updated", "f", "e", 1, 1, None, 1)])
    assert names_contexts([default, premium])
    plain = history_line(default)
    assert "  value       false (" in plain and "[" not in plain
    named = history_line(premium, show_context=True)
    assert "  value       [premium] false (default, enabled) → true (rule_match, enabled)" in named


def _journal_of_a_default_change(profile: str, contexts: tuple[str, ...]) -> None:
    """A journal where only `default`'s value changed; last values of `contexts`."""
    journal = Journal.open(journal_path(profile))
    journal.append_event(FlagEvent("flag.updated", "checkout-v2", "e", 7, 1.0, "7", 2.0))
    journal.append_transition(change())
    for context in contexts:
        journal.set_last_value("checkout-v2", ON, 3.0, context=context)
    journal.flush()
    journal.close()


def test_history_names_the_context_whenever_the_journal_or_profile_has_two(
    isolated_home: Path,
) -> None:
    _journal_of_a_default_change("team", ("default", "free"))  # no such profile: the journal's
    _journal_of_a_default_change("duo", ("default",))  # the profile has two
    (isolated_home / "profiles.toml").write_text(
        '[profiles.duo]\nbase_url = "http://127.0.0.1:1"\nenvironment_key = "production"\n'
        'api_key_env = "DUO_KEY"\n'
        'context = { plan = "premium" }\ncontexts = { free = { plan = "free" } }\n'
    )
    for profile in ("team", "duo"):
        lines = CliRunner().invoke(cli, ["history", "checkout-v2", "--profile", profile]).output
        assert "  value       [default] false (default, enabled) → true" in lines
    assert not names_contexts([change()], ["default", "default"])


def test_history_says_a_value_from_nothing_and_a_value_deleted_as_tail_does() -> None:
    """`history` said `→ (gone)` where `tail` said `→ deleted` for the same change."""
    born = ValueTransition("f", None, ON, "7", 1.0)
    gone = ValueTransition("f", ON, None, "8", 2.0)
    assert "  value       ∅ → true (rule_match, enabled)" in history_line(born)
    assert "  value       true (rule_match, enabled) → deleted" in history_line(gone)
    assert change_text(ON, None).endswith("→ deleted")  # tail's word for it


# --- wait --context --------------------------------------------------------------------------------


def _profile(**kwargs: object) -> Profile:
    return Profile(name="p", base_url="http://x", environment_key="production", **kwargs)  # type: ignore[arg-type]


def test_wait_picks_the_first_context_unless_told() -> None:
    named = {"premium": {"plan": "premium"}, "free": {"plan": "free"}}
    assert choose_context(_profile(contexts=named), None) == "premium"
    assert choose_context(_profile(contexts=named), "free") == "free"
    assert choose_context(_profile(context={"user_id": "u"}), None) == "default"
    with pytest.raises(click.UsageError, match=r"unknown context gold.*premium, free"):
        choose_context(_profile(contexts=named), "gold")


def test_wait_with_an_unknown_context_is_a_usage_error_before_connecting() -> None:
    # Port 9 on loopback: nothing listens there, and nothing may be asked before the check.
    args = ["wait", "--url", "http://127.0.0.1:9", "--api-key", "tgl_sdk_abc", "--environment"]
    result = CliRunner().invoke(
        cli, [*args, "production", "flag", "--value", "true", "--context", "premium"]
    )
    assert result.exit_code == 2, result.output
    assert "unknown context premium: profile" in result.stderr
    assert "evaluates for default" in result.stderr


def test_tail_with_an_unknown_context_is_a_usage_error_before_connecting() -> None:
    args = ["tail", "--url", "http://127.0.0.1:9", "--api-key", "tgl_sdk_abc", "--environment"]
    result = CliRunner().invoke(cli, [*args, "production", "--context", "eu", "--no-record"])
    assert result.exit_code == 2, result.output
    assert "unknown context eu: profile url-127.0.0.1-9 evaluates for default" in result.stderr


def test_history_lists_one_events_value_lines_in_the_profiles_context_order() -> None:
    """They came in the order the contexts answered ([beta], [premium], [default] for one event,
    [default], [premium], [beta] for the next); now default first, then as the file lists them."""
    from togul_monitor.cli.history_lines import in_context_order

    def changed(context: str, event: str | None, at: float) -> ValueTransition:
        return ValueTransition("f", ON, None, event, at, context=context)

    event = FlagEvent("flag.updated", "f", "env", 2, 1.0, "8", 1.0)
    newest_first = [
        changed("default", "9", 9.3),
        changed("premium", "9", 9.2),
        changed("zeta", "9", 9.15),  # the journal's only: after the profile's
        changed("beta", "9", 9.1),
        event,
        changed("premium", "8", 8.3),
        changed("beta", "8", 8.2),
        changed("default", "8", 8.1),
        changed("beta", None, 7.2),  # found, no event: left where they are
        changed("default", None, 7.1),
    ]
    ordered = in_context_order(newest_first, ["default", "premium", "beta"])
    said = [(e.context, e.event_id) for e in ordered if isinstance(e, ValueTransition)]
    assert said == [
        ("default", "9"),
        ("premium", "9"),
        ("beta", "9"),
        ("zeta", "9"),
        ("default", "8"),
        ("premium", "8"),
        ("beta", "8"),
        ("beta", None),
        ("default", None),
    ]
    assert ordered[4] is event
