"""`togul-monitor export`: a profile's journal as JSON Lines or CSV (store/export.py says what
each holds), read as `history` reads it (cli/journal.py: which journal, the exit codes).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from togul_monitor.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    parse_filter_option,
    target_options,
)
from togul_monitor.cli.journal import (
    JOURNAL_URL_HELP,
    open_reader,
    parse_since,
    profile_environment_id,
)
from togul_monitor.domain.events import Outage
from togul_monitor.store.export_window import outage_words
from togul_monitor.support.files import atomic_text
from togul_monitor.support.text import safe_text

MAX_EXPORTED_DIFFS = 1_000_000  # as many as the journal keeps (its retention); answers too
_FIRST = float("-inf")  # no `--since`: from the first


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
@click.option("--journal-url", metavar="URL", help=JOURNAL_URL_HELP)
@target_options("profile_name", help_text={"profile_name": "Whose journal (default profile)."})
def export(
    query: str | None,
    since: str | None,
    fmt: str,
    output: Path | None,
    journal_url: str | None,
    profile_name: str | None,
) -> None:
    """Write the journal's events (filtered) as JSON Lines or CSV, oldest first, with the
    outages and the value changes of their window (and with JSONL the configuration diffs)."""
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
    name, journal = open_reader(profile_name, journal_url)
    try:
        journal.check()  # before `-o FILE` is touched: half a journal is no export
        names = journal.environment_names()
        # The values are the profile's environment's: a token's stream carries every
        # environment, and only its own events explain a value change (domain/change_owners.py).
        environment_id = profile_environment_id(name, names)
        # The outages are few; the value changes are read in chunks, as the events are.
        outages = journal.outages(since_at)
        # Few too (one per answer that may have covered several events, domain/merged.py):
        # which events were evaluated with their flag's next change, as `history` says it.
        first = _FIRST if since_at is None else since_at
        answers = journal.merged_answers(None, first, MAX_EXPORTED_DIFFS)
        keep = None if flt is None else (lambda e: flt.matches(e, names))

        def write(out: IO[str]) -> int:
            # Both safe to print (store/export.py): stdout may be a terminal, a file be `cat`.
            events, transitions = journal.iter_events(since_at), journal.iter_transitions(since_at)
            if fmt == "jsonl":
                # Configuration diffs are few (one per change of a flag's rules): read at once.
                diffs = journal.config_diffs(None, MAX_EXPORTED_DIFFS, since_at)[::-1]
                return write_jsonl(
                    events,
                    out,
                    names,
                    diffs,
                    outages=outages,
                    transitions=transitions,
                    keep=keep,
                    environment_id=environment_id,
                    answers=answers,
                )
            return write_csv(
                events,
                out,
                environment_names=names,
                outages=outages,
                transitions=transitions,
                keep=keep,
                environment_id=environment_id,
                answers=answers,
            )

        if output is None:
            count = write(sys.stdout)
            sys.stdout.flush()
        else:
            # Temp file, fsync, rename: a reader never sees half an export.
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
        click.echo(f"Exported {count} events to {output}{outages_note(outages)}", err=True)


def outages_note(outages: list[Outage]) -> str:
    """What an export's summary adds when the stream was down in its window."""
    if not outages:
        return ""
    counted, missed = outage_words(len(outages), sum(o.may_have_missed for o in outages))
    return f" ({counted} in the window, {missed})"
