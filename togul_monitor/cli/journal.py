"""`togul-monitor history FLAG`, and how a command that reads a profile's journal finds and
opens it (`open_reader`), reads `--since` (`parse_since`) and knows the profile's environment by
the journal's names (`profile_environment_id`): cli/export.py's `export` does too.

The journal is `journal/<profile>.sqlite3` in the data directory, read without credentials and
without creating anything: a journal another process (a headless `tail`) is writing reads fine
(WAL). `--journal-url postgresql://user@host/db` reads the profile's journal in a shared
PostgreSQL database instead (docs/journal.md; the password from PGPASSWORD or ~/.pgpass, never
shown), as does a profile's own `journal_url` (its `journal_url_env` variable unset: exit 2, never
the local file); a name with no rows in that database has no journal there (exit 1).
The profile is chosen like every command's (cli/common.py): this command's `--profile`, else the
group's `--profile`/`--demo`, else TOGUL_MONITOR_PROFILE or the file's default. A name that is
neither a profile nor has a journal is a usage error, as for `tail`. `history` shows environments
by key where the journal knows it (its `environments` table); its lines are
cli/history_lines.py's. Exit codes (README.md): 0 done, 1 runtime failure (no journal, unreadable
or damaged: `PRAGMA quick_check` runs first, and the file is left as it is), 2 usage or
configuration, 130 Ctrl-C.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

import click

from togul_monitor.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Target,
    command_target,
    duration_seconds,
    report_config_error,
    target_name,
    target_options,
)
from togul_monitor.cli.history_lines import (
    diff_lines,
    found_by_reevaluation,
    history_json,
    history_line,
    in_context_order,
    merged_line,
    names_contexts,
    with_diffs,
)
from togul_monitor.config.errors import ConfigError
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.history import Replays
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.interface import JournalReader
from togul_monitor.store.model import StoredDiff
from togul_monitor.store.recorded import read_merged
from togul_monitor.support.isotime import from_iso
from togul_monitor.support.text import safe_text

#: Entries `history` reads past `--limit`: the events the oldest changes shown may belong to (a
#: change comes within a minute of its event, domain/change_owners.py `TIE_WITHIN`).
OWNERS_READ = 500


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


def open_reader(profile_name: str | None, journal_url: str | None) -> tuple[str, JournalReader]:
    """The profile's name and its journal for reading (`--journal-url`: which database); exits
    1 when there is none, 2 for a URL that names no journal."""
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
        return name, open_reader_at(name, journal_url)
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


def _profile_contexts(name: str) -> list[str]:
    """The names of the contexts profile `name` of profiles.toml evaluates for (none for a
    journal whose profile is gone or comes from elsewhere)."""
    from togul_monitor.config.entry import evaluation_contexts
    from togul_monitor.config.profiles import load_config

    entry = load_config().profiles.get(name)
    return [] if entry is None else list(evaluation_contexts(entry.context, entry.contexts))


def profile_environment_id(name: str, names: Mapping[str, str]) -> str | None:
    """The id of profile `name`'s environment, by its journal's environment `names` (id → key):
    the one id they name with the profile's `environment_key`. None (any environment's events
    may explain a value change) for a profile gone or from elsewhere, one without an
    environment, or a key the journal names no id of, or several (projects of one organisation
    may each have a `production`)."""
    from togul_monitor.config.profiles import load_config

    entry = load_config().profiles.get(name)
    if entry is None or not entry.environment_key:
        return None
    ids = [env_id for env_id, key in names.items() if key == entry.environment_key]
    return ids[0] if len(ids) == 1 else None


JOURNAL_URL_HELP = (
    "Read the journal in this database: postgresql://USER@HOST[:PORT]/DB (docs/journal.md); "
    "default: the profile's SQLite file."
)


@click.command()
@click.argument("flag")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most N entries."
)
@click.option("--journal-url", metavar="URL", help=JOURNAL_URL_HELP)
@target_options("profile_name", help_text={"profile_name": "Whose journal (default profile)."})
def history(
    flag: str, as_json: bool, limit: int, journal_url: str | None, profile_name: str | None
) -> None:
    """Events, value transitions, configuration changes and outages of FLAG, newest first,
    from the journal."""
    from togul_monitor.store.export_json import diff_json
    from togul_monitor.store.journal import JournalError

    name, journal = open_reader(profile_name, journal_url)
    try:
        journal.check()
        names = journal.environment_names()
        # A token's stream carries every environment: only the profile's events own a value
        # change (domain/change_owners.py), as `export` ties them.
        environment_id = profile_environment_id(name, names)
        # Read past `--limit`: a change shown may be the answer of an event just older than
        # the rows shown, and says so whatever `--limit` keeps in view.
        read = journal.history(flag, limit + OWNERS_READ, environment_id)
        found = read[:limit]
        replays = Replays(found)  # the outages' replays, to date their events
        entries = with_diffs(found, journal.config_diffs(flag, limit), limit, replays)
        found_change = found_by_reevaluation(read, environment_id, names)
        # Every context the profile has, or the journal has values of: which one changed is
        # news whenever there are two, even when it is `default`.
        order = _profile_contexts(name)
        contexts = {*order, *journal.last_values()}
        with_next = read_merged(journal, [e for e in found if isinstance(e, FlagEvent)], flag)
    except JournalError as exc:
        click.echo(f"Error: {safe_text(str(exc))}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        journal.close()
    if not entries and not as_json:
        click.echo(f"No history for '{safe_text(flag)}'.", err=True)
    show_context = names_contexts(entries, contexts)
    entries = in_context_order(entries, order)  # not the order the contexts answered in
    for entry in entries:
        happened = replays.happened_at(entry)
        if isinstance(entry, StoredDiff):
            if as_json:
                data = {**diff_json(entry, names), "at": entry.at}
                click.echo(json.dumps(data, ensure_ascii=True))
            else:
                click.echo("\n".join(diff_lines(entry)))
        elif as_json:
            merged = with_next.get(entry, ()) if isinstance(entry, FlagEvent) else ()
            found_here = isinstance(entry, ValueTransition) and found_change(entry)
            data = history_json(
                entry, names, replayed=happened is not None, with_next=merged, found=found_here
            )
            click.echo(json.dumps(data, ensure_ascii=True))
        else:
            found_here = isinstance(entry, ValueTransition) and found_change(entry)
            line = history_line(
                entry, names, show_context=show_context, found=found_here, happened=happened
            )
            click.echo(line)
            if isinstance(entry, FlagEvent) and entry in with_next:
                click.echo(merged_line(entry, with_next[entry], names, contexts))
