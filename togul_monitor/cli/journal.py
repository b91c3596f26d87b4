"""`togul-monitor history FLAG` and `togul-monitor export`: reading a profile's journal.

Both read `journal/<profile>.sqlite3` in the data directory without credentials and without
creating anything: a journal another process (a headless `tail`) is writing reads fine (WAL).
`--journal-url postgresql://user@host/db` reads the profile's journal in a shared PostgreSQL
database instead (docs/journal.md; the password from PGPASSWORD or ~/.pgpass, never shown), as
does a profile's own `journal_url` (its `journal_url_env` variable unset: exit 2, never the local
file); a name with no rows in that database has no journal there (exit 1).
The profile is chosen like every command's (cli/common.py): this command's `--profile`, else the
group's `--profile`/`--demo`, else TOGUL_MONITOR_PROFILE or the file's default. A name that is
neither a profile nor has a journal is a usage error, as for `tail`. Environments are shown by
key where the journal knows it (its `environments` table); exports carry both, with ISO-8601
times (store/export.py). A value transition is of one of the profile's contexts: `history` names
it (`value       [premium] false → true`) once any transition shown is of a named context, and
`--json` always carries it (`"context"`). Exit codes (README.md): 0 done, 1 runtime failure (no journal,
unreadable or damaged: `PRAGMA quick_check` runs first, and the file is left as it is),
2 usage or configuration, 130 Ctrl-C.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

import click

from togul_monitor.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Target,
    command_target,
    duration_seconds,
    parse_filter_option,
    report_config_error,
    target_name,
    target_options,
)
from togul_monitor.cli.render import clock, stamp
from togul_monitor.config.errors import ConfigError
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import describe, summary
from togul_monitor.domain.history import FoundDiff, HistoryEntry
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    UNSEEN_NOTE,
    Evaluation,
    ValueTransition,
    evaluation_to_json,
)
from togul_monitor.store.interface import JournalReader
from togul_monitor.store.model import StoredDiff
from togul_monitor.support.files import atomic_text
from togul_monitor.support.isotime import from_iso
from togul_monitor.support.text import safe_text


def parse_since(text: str, *, now: float | None = None) -> float:
    """`90s`, `15m`, `2h`, `7d`, `1w` ago; an ISO-8601 time (local unless it names a zone);
    or Unix seconds. Raises ValueError with a usable message."""
    now = time.time() if now is None else now
    ago = duration_seconds(text)  # the same durations as `tail --give-up-after`
    if ago is not None:
        return now - ago
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = from_iso(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a time: use e.g. 15m, 2h, 7d, 2026-11-27T14:00 or "
            "Unix seconds"
        ) from None
    return moment.timestamp()  # a naive time is local time


def _profile_name(profile_name: str | None, named: bool = False) -> str:
    """Whose journal: the profile this command's options (over the group's) pick."""
    try:
        # Even a given name reads the file: a broken profiles.toml is a configuration error for
        # every command (exit 2), not something to skip past silently.
        name = target_name(command_target(Target(profile_name=profile_name)))
        if name is None:  # an ad-hoc TOGUL_BASE_URL target has no journal
            raise ConfigError("say which profile's journal to read: --profile NAME")
        _check_known(name, named)
    except ConfigError as error:
        report_config_error(error)
    return name


def _check_known(name: str, named: bool = False) -> None:
    """ConfigError (the one `tail` reports) for a name that is no profile, unless a journal of
    that name exists: the journal of a profile removed since stays readable. In a journal
    `named` by --journal-url any name may have one: the journal says (`check`)."""
    from togul_monitor.config.resolve import list_profiles, resolve_profile
    from togul_monitor.store.journal import journal_path

    if named or journal_path(name).exists() or name in {p.name for p in list_profiles()}:
        return
    resolve_profile(name)  # not a profile of any kind: raises the "no profile named" error


def _open_reader(profile_name: str | None, journal_url: str | None) -> JournalReader:
    """The profile's journal for reading (`--journal-url`: which database); exits 1 when
    there is none, 2 for a URL that names no journal."""
    from togul_monitor.store.journal import JournalError, journal_target, open_reader_at
    from togul_monitor.store.url import parse_journal_url

    try:
        # A URL that names the journal (a database, a file): any name may have one there.
        named = parse_journal_url(journal_url) is not None
    except JournalError as exc:
        raise click.UsageError(f"--journal-url: {exc}") from None
    name = _profile_name(profile_name, named)
    try:
        if journal_url is None:  # the profile's own `journal_url`, when its file names one
            journal_url = _profile_journal_url(name)
        target = journal_target(name, journal_url)
    except ConfigError as error:
        report_config_error(error)
    except JournalError as exc:  # the profile's URL (config checks it; its variable's too)
        click.echo(f"Error: profile {safe_text(name)!r}: {safe_text(str(exc))}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if isinstance(target, Path) and not target.exists():
        click.echo(
            f"No journal for profile {safe_text(name)!r} yet ({target}): run the TUI or "
            f"`togul-monitor tail --profile {safe_text(name)}` to record one.",
            err=True,
        )
        raise SystemExit(EXIT_FAILED)
    try:
        return open_reader_at(name, journal_url)
    except JournalError as exc:
        click.echo(f"Error: {safe_text(str(exc))}", err=True)
        raise SystemExit(EXIT_FAILED) from None


def _profile_journal_url(name: str) -> str | None:
    """The journal URL profile `name` names, resolved strictly (its `journal_url_env` variable
    unset is a ConfigError: reading the local file instead would show the wrong journal) but
    without its credentials, which reading a journal does not need."""
    from togul_monitor.config.profiles import load_config

    config = load_config()
    entry = config.profiles.get(name)
    return None if entry is None else entry.resolve_journal_url(file=config.path)


_JOURNAL_URL_HELP = (
    "Read the journal in this database: postgresql://USER@HOST[:PORT]/DB (docs/journal.md); "
    "default: the profile's SQLite file."
)


def _show_value(evaluation: Evaluation | None, missing: str = "(gone)") -> str:
    """`missing`: a value before (`∅`: created, or back) or after (`(gone)`: deleted)."""
    data = evaluation_to_json(evaluation)
    if data is None:
        return missing
    value = json.dumps(data["value"], ensure_ascii=True)
    extra = [data["reason"] or "?", "enabled" if data["enabled"] else "disabled"]
    if data["value_type"] is None:
        extra.append("unknown type")
    return f"{value} ({', '.join(extra)})"


def events_have_ids(entries: Iterable[object]) -> bool:
    """Whether the events among `entries` carry ids (the server sends `id:` lines; the
    documented stream does not)."""
    return any(isinstance(e, FlagEvent) and e.event_id is not None for e in entries)


def history_line(
    entry: FlagEvent | ValueTransition | Outage,
    environment_names: Mapping[str, str] | None = None,
    *,
    show_context: bool = False,
    ids: bool = False,
) -> str:
    """One row of `history`; `show_context`: a transition names its context (see
    `names_contexts`); `ids`: the stream sends event ids (`events_have_ids`), so a change
    tied to none was found on a re-evaluation of its own. Without ids nothing tells that from
    a change an event caused, and the row claims neither."""
    if isinstance(entry, FlagEvent):
        ident = f"  id {safe_text(entry.event_id)}" if entry.event_id is not None else ""
        # The environment's key, from the journal; the start of its id when it never learnt it.
        env = (environment_names or {}).get(entry.environment_id) or entry.environment_id[:8]
        return (
            f"{stamp(entry.received_at)}  event       {safe_text(entry.type):<13} "
            f"v{entry.version}  env {safe_text(env)}{ident}"
        )
    if isinstance(entry, ValueTransition):
        cause = ""
        if entry.event_id is not None:
            cause = f"  by event {safe_text(entry.event_id)}"
        elif ids:
            cause = "  (found on re-evaluation)"
        if entry.includes_unseen and (entry.event_id is not None or not ids):
            cause += f"  ({UNSEEN_NOTE})"
        context = f"[{safe_text(entry.context)}] " if show_context else ""
        return (
            f"{stamp(entry.at)}  value       {context}{_show_value(entry.before, '∅')} → "
            f"{_show_value(entry.after)}{cause}"
        )
    missed = "may have missed events" if entry.may_have_missed else "nothing missed"
    return (
        f"{stamp(entry.received_at)}  outage      disconnected {clock(entry.started_at)}"
        f"–{clock(entry.ended_at)} ({missed})"
    )


def history_json(
    entry: FlagEvent | ValueTransition | Outage,
    environment_names: Mapping[str, str] | None = None,
) -> dict[str, object]:
    from togul_monitor.domain.values import transition_to_json
    from togul_monitor.store.export import with_environment_key

    if isinstance(entry, FlagEvent):
        return with_environment_key(entry, environment_names, kind="event")
    if isinstance(entry, ValueTransition):
        return {"kind": "transition", **transition_to_json(entry)}
    return {
        "kind": "outage",
        "started_at": entry.started_at,
        "ended_at": entry.ended_at,
        "replayed": entry.replayed,
        "may_have_missed": entry.may_have_missed,
        "received_at": entry.received_at,
    }


def names_contexts(entries: Iterable[object]) -> bool:
    """Whether the transitions among `entries` need their context named: some are of a named
    context. A journal of a profile with its single context only reads as it always did."""
    return any(
        isinstance(entry, ValueTransition) and entry.context != DEFAULT_CONTEXT for entry in entries
    )


MAX_EXPORTED_DIFFS = 1_000_000  # as many as the journal keeps (its retention)
MAX_DIFF_LINES = 10  # lines of one configuration diff `history` shows under its summary
_INDENT = " " * 21  # under the kind column


def diff_lines(stored: StoredDiff) -> list[str]:
    """A configuration diff: its summary, then a line per change (indented)."""
    d = stored.diff
    cause = f"  by event {safe_text(d.event_id)}" if d.event_id is not None else ""
    if not cause:
        cause = f"  (v{d.version})" if d.version is not None else "  (found on a re-fetch)"
    lines = [f"{stamp(stored.at)}  config      {summary(d)}{cause}"]
    details = describe(d) if len(d.changes) > 1 else []
    lines += [f"{_INDENT}{line}" for line in details[:MAX_DIFF_LINES]]
    if len(details) > MAX_DIFF_LINES:
        lines.append(f"{_INDENT}… {len(details) - MAX_DIFF_LINES} more changes")
    return lines


def with_diffs(
    entries: list[HistoryEntry], diffs: list[StoredDiff], limit: int
) -> list[FlagEvent | ValueTransition | Outage | StoredDiff]:
    """Both lists (newest first) merged newest first; a diff above the event it explains. The
    journal's history holds no `FoundDiff`: its diffs are `diffs`, each once."""

    def when(item: FlagEvent | ValueTransition | Outage | StoredDiff) -> float:
        if isinstance(item, (StoredDiff, ValueTransition)):
            return item.at
        return item.received_at

    kept = [entry for entry in entries if not isinstance(entry, FoundDiff)]
    merged: list[FlagEvent | ValueTransition | Outage | StoredDiff] = [*kept, *diffs]
    merged.sort(key=lambda item: (-when(item), not isinstance(item, StoredDiff)))
    return merged[:limit]


@click.command()
@click.argument("flag")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most N entries."
)
@click.option("--journal-url", metavar="URL", help=_JOURNAL_URL_HELP)
@target_options("profile_name", help_text={"profile_name": "Whose journal (default profile)."})
def history(
    flag: str, as_json: bool, limit: int, journal_url: str | None, profile_name: str | None
) -> None:
    """Events, value transitions, configuration changes and outages of FLAG, newest first,
    from the journal."""
    from togul_monitor.store.export import diff_json
    from togul_monitor.store.journal import JournalError

    journal = _open_reader(profile_name, journal_url)
    try:
        journal.check()
        entries = with_diffs(journal.history(flag, limit), journal.config_diffs(flag, limit), limit)
        names = journal.environment_names()
        # The stream's, by the journal's newest event: not the rows `--limit` keeps in view.
        ids = events_have_ids(journal.recent_events(1))
    except JournalError as exc:
        click.echo(f"Error: {safe_text(str(exc))}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        journal.close()
    if not entries and not as_json:
        click.echo(f"No history for '{safe_text(flag)}'.", err=True)
    show_context = names_contexts(entries)
    for entry in entries:
        if isinstance(entry, StoredDiff):
            if as_json:
                data = {**diff_json(entry, names), "at": entry.at}
                click.echo(json.dumps(data, ensure_ascii=True))
            else:
                click.echo("\n".join(diff_lines(entry)))
        elif as_json:
            click.echo(json.dumps(history_json(entry, names), ensure_ascii=True))
        else:
            click.echo(history_line(entry, names, show_context=show_context, ids=ids))


@click.command()
@click.option("--filter", "query", metavar="QUERY", help="Only the events this filter matches.")
@click.option("--since", metavar="TIME", help="Only events received since TIME (15m, 2h, ISO).")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), required=True, help="Output format."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (atomically) instead of stdout; `-` is stdout.",
)
@click.option("--journal-url", metavar="URL", help=_JOURNAL_URL_HELP)
@target_options("profile_name", help_text={"profile_name": "Whose journal (default profile)."})
def export(
    query: str | None,
    since: str | None,
    fmt: str,
    output: Path | None,
    journal_url: str | None,
    profile_name: str | None,
) -> None:
    """Write the journal's events (filtered) as JSON Lines or CSV, oldest first."""
    from togul_monitor.store.export import write_csv, write_jsonl
    from togul_monitor.store.journal import JournalError

    output = None if output == Path("-") else output  # as `--api-key-file -` is stdin
    # The message names the position once; a caret under the query shows it (as for `tail`).
    flt = parse_filter_option(query, "export")
    since_at = None
    if since:
        try:
            since_at = parse_since(since)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    journal = _open_reader(profile_name, journal_url)
    try:
        journal.check()  # before `-o FILE` is touched: half a journal is no export
        names = journal.environment_names()
        events: Iterator[FlagEvent] = journal.iter_events(since_at)
        if flt is not None:
            events = (e for e in events if flt.matches(e, names))

        def write(out: IO[str]) -> int:
            # Both safe to print (store/export.py): stdout may be a terminal, a file be `cat`.
            if fmt == "jsonl":
                # Configuration diffs are few (one per change of a flag's rules): read at once.
                diffs = journal.config_diffs(None, MAX_EXPORTED_DIFFS, since_at)[::-1]
                return write_jsonl(events, out, names, diffs, all_diffs=flt is None)
            return write_csv(events, out, environment_names=names)

        if output is None:
            count = write(sys.stdout)
            sys.stdout.flush()
        else:  # temp file, fsync, rename: a reader never sees half an export
            with atomic_text(output) as out:
                count = write(out)
    except JournalError as exc:
        click.echo(f"Error: {safe_text(str(exc))}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    except KeyboardInterrupt:  # Ctrl-C: `-o FILE` is left as it was (the write is atomic)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        raise  # the reader went away (`export | head`): the command group ends it quietly
    except OSError as exc:
        where = str(output) if output is not None else "to stdout"
        click.echo(f"Error: cannot write {where}: {exc.strerror or exc}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    finally:
        journal.close()
    if output is not None:
        click.echo(f"Exported {count} events to {output}", err=True)
