"""`export` carries what the journal knows about the window it covers: the outages (changes in
them may be missing) and the value changes, beside the events, in time order; in each backend."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import Journal

from ..journal_backends import JournalBackend
from .test_postgres_journal import url_of

T0 = 1_700_000_000.0
OFF, ON = (
    Evaluation(False, "boolean", "default", True),
    Evaluation(True, "boolean", "default", True),
)


def event(key: str, event_id: str, at: float) -> FlagEvent:
    return FlagEvent("flag.updated", key, "env-1", 1, int(T0), event_id, T0 + at)


def change(key: str, event_id: str | None, at: float, unseen: bool = False) -> ValueTransition:
    return ValueTransition(key, OFF, ON, event_id, T0 + at, includes_unseen=unseen)


def record_a_window_with_an_outage(backend: JournalBackend) -> None:
    journal = backend.open()
    journal.set_environment_names({"env-1": "production"})
    journal.append_event(event("checkout-v2", "1", 1.0))
    journal.append_transition(change("checkout-v2", "1", 1.2))
    journal.append_event(event("other", "2", 2.0))
    journal.append_transition(change("other", "2", 2.1))
    journal.append_outage(Outage(T0 + 3, T0 + 10, None, True, T0 + 10))
    # Found by the re-evaluation after the outage: tied to no event, it may hold unseen changes.
    journal.append_transition(change("checkout-v2", None, 10.5, unseen=True))
    journal.append_event(event("checkout-v2", "5", 11.0))
    journal.close()


def export(backend: JournalBackend, *args: str) -> str:
    where = ["--profile", backend.profile, "--journal-url", url_of(backend)]
    result = CliRunner().invoke(cli, ["export", *args, *where])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_an_export_holds_the_outages_and_value_changes_of_its_window(
    journal_backend: JournalBackend,
) -> None:
    record_a_window_with_an_outage(journal_backend)
    rows = [json.loads(line) for line in export(journal_backend, "--format", "jsonl").splitlines()]
    assert [(r["kind"], r.get("flag_key"), r.get("id") or r.get("event_id")) for r in rows] == [
        ("event", "checkout-v2", "1"),
        ("transition", "checkout-v2", "1"),
        ("event", "other", "2"),
        ("transition", "other", "2"),
        ("outage", None, None),
        ("found", "checkout-v2", None),  # as the TUI's `e` writes the feed's row of it
        ("event", "checkout-v2", "5"),
    ]
    outage = rows[4]
    assert outage["may_have_missed"] is True and outage["replayed"] is None
    assert (outage["started_at"], outage["ended_at"]) == (
        "2023-11-14T22:13:23.000Z",
        "2023-11-14T22:13:30.000Z",
    )
    # A value change is written as `tail --json` prints it, its environment its event's.
    assert rows[1]["environment_key"] == "production" and rows[1]["after"]["value"] is True
    assert rows[5]["includes_unseen"] is True and rows[5]["environment_key"] is None
    assert "event_id" not in rows[5] and rows[5]["at"] == "2023-11-14T22:13:30.500Z"

    # A filtered export: every outage, the value changes of the events it keeps, and those of
    # no event its filter keeps by their flag (as the TUI's feed keeps their rows).
    kept = export(journal_backend, "--format", "jsonl", "--filter", "flag:checkout-*")
    assert [
        (r["kind"], r.get("id") or r.get("event_id")) for r in map(json.loads, kept.split())
    ] == [
        ("event", "1"),
        ("transition", "1"),
        ("outage", None),
        ("found", None),
        ("event", "5"),
    ]
    # Having no event type, it matches no `type:` term.
    typed = export(journal_backend, "--format", "jsonl", "--filter", "checkout type:flag")
    assert [json.loads(line)["kind"] for line in typed.split()] == [
        "event", "transition", "outage", "event",
    ]  # fmt: skip


def test_a_csv_export_has_a_row_per_event_value_change_and_outage(
    journal_backend: JournalBackend, tmp_path: Path
) -> None:
    record_a_window_with_an_outage(journal_backend)
    records = list(csv.DictReader(io.StringIO(export(journal_backend, "--format", "csv"))))
    assert [r["kind"] for r in records] == [
        "event", "transition", "event", "transition", "outage", "found", "event",
    ]  # fmt: skip
    first_change, outage = records[1], records[4]
    assert (first_change["id"], first_change["environment_key"]) == ("1", "production")
    assert (first_change["before"], first_change["after"]) == ("false", "true")
    assert first_change["received_at"] == "2023-11-14T22:13:21.200Z"
    assert (outage["may_have_missed"], outage["started_at"]) == ("true", "2023-11-14T22:13:23.000Z")
    assert records[5]["includes_unseen"] == "true" and outage["flag_key"] == ""
    found = records[5]
    assert (found["id"], found["flag_key"], found["context"]) == ("", "checkout-v2", "default")
    assert (found["before"], found["after"]) == ("false", "true")
    assert found["received_at"] == "2023-11-14T22:13:30.500Z"  # when it was found

    # Written to a file, the summary says the window had a gap.
    target = tmp_path / "out.csv"
    where = ["--profile", journal_backend.profile, "--journal-url", url_of(journal_backend)]
    result = CliRunner().invoke(cli, ["export", "--format", "csv", "-o", str(target), *where])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"Exported 3 events to {target} (1 outage in the window, 1 may have missed changes)\n"
    )


def test_a_token_profiles_export_ties_a_value_change_to_its_own_environments_event() -> None:
    """A token's stream carries every environment; the values are the profile's environment's
    only. A production change is written with production's event, not with staging's event of
    the same flag received just after it (nor, filtered to production, left out)."""
    from togul_monitor.config import paths
    from togul_monitor.store.files import journal_path

    profiles = paths.profiles_file()
    profiles.parent.mkdir(parents=True, exist_ok=True)
    profiles.write_text(
        '[profiles.org]\nbase_url = "https://api.togul.io"\nenvironment_key = "production"\n'
        'token_env = "ORG_TOKEN_UNSET"\n'
    )
    journal = Journal.open(journal_path("org"))
    journal.set_environment_names({"env-p": "production", "env-s": "staging"})
    for env, at in (("env-p", 1.0), ("env-s", 1.3)):  # the documented stream: no ids
        journal.append_event(FlagEvent("flag.updated", "f", env, 2, int(T0), None, T0 + at))
    journal.append_transition(change("f", None, 1.5))  # production's answer
    journal.append_transition(change("f", None, 90.0))  # found by a re-evaluation (`r`)
    journal.close()
    for args in ((), ("--filter", "env:production")):
        result = CliRunner().invoke(cli, ["export", "--format", "jsonl", "--profile", "org", *args])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        written = [(r["kind"], r["environment_key"]) for r in rows]
        assert ("transition", "production") in written and ("transition", "staging") not in written
        # Journalled without the environment `r` asked for: null, and `env:` leaves it out
        # (below: the profile may have watched another environment then).
        assert written[-1] == (("found", None) if not args else ("transition", "production"))


def test_a_profile_edited_to_another_environment_exports_no_change_as_the_new_ones() -> None:
    """A profile watched staging, then was edited to watch production: its journal holds
    staging's events and changes, which `export` wrote as production's (the profile's
    environment now), `--filter env:production` too. Its changes were journalled before the
    journal recorded a change's environment: one no production event explains is written with
    none."""
    from togul_monitor.config import paths
    from togul_monitor.store.files import journal_path

    journal = Journal.open(journal_path("app"))
    journal.set_environment_names({"env-s": "staging"})  # its API key was staging's
    journal.append_event(FlagEvent("flag.updated", "f", "env-s", 2, int(T0), None, T0 + 1))
    journal.append_transition(change("f", None, 1.5))  # staging's event's answer
    journal.append_transition(change("f", None, 300.0))  # staging's, found by `r`
    journal.set_environment_names({"env-p": "production"})  # edited: production's key
    journal.append_event(FlagEvent("flag.updated", "f", "env-p", 7, int(T0), None, T0 + 900))
    journal.close()
    profiles = paths.profiles_file()
    profiles.parent.mkdir(parents=True, exist_ok=True)
    profiles.write_text(
        '[profiles.app]\nbase_url = "https://api.togul.io"\nenvironment_key = "production"\n'
        'api_key_env = "APP_KEY_UNSET"\n'
    )
    for args in ((), ("--filter", "env:production")):
        result = CliRunner().invoke(cli, ["export", "--format", "jsonl", "--profile", "app", *args])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        changes = [r["environment_key"] for r in rows if r["kind"] in ("transition", "found")]
        assert changes == ([None, None] if not args else [])
