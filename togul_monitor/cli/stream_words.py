"""What `tail` says on stderr about the stream's own items: its status, an outage, its later
proof, a possible gap, an unusable event. Plain words; every server string through `safe_text`
(a status's error in plain words already: support/plain_errors.py). With `--json`, a possible
gap and an unusable event get a line on stdout too (`unusable_json`, `possible_gap_json`), as an
outage does (cli/tail_output.py): each says the stream may have lost a change, which a program
reading stdout alone must learn. They are rare, never on the events' path."""

from __future__ import annotations

from collections.abc import Mapping

from togul_monitor.cli.times import clock
from togul_monitor.config.validate import display_url
from togul_monitor.domain.events import ConnectionState, Malformed, Outage, PossibleGap, Status
from togul_monitor.support.text import safe_text


def outage_words(item: Outage) -> str:
    replay = (
        "the server replay is unknown"
        if item.replayed is None
        else f"{item.replayed} event(s) replayed"
    )
    missed = "events may have been missed" if item.may_have_missed else "nothing missed"
    return (
        f"outage {clock(item.started_at)}–{clock(item.ended_at)} "
        f"({item.ended_at - item.started_at:.1f} s): {replay}; {missed}"
    )


def outage_proven_words(outage: Outage) -> str:
    return (
        f"outage {clock(outage.started_at)}–{clock(outage.ended_at)} missed nothing "
        "after all: the next event's id followed the last one's"
    )


def possible_gap_words(item: PossibleGap, environment_names: Mapping[str, str]) -> str:
    env = environment_names.get(item.environment_id, item.environment_id)
    return (
        f"possible gap in {safe_text(item.flag_key)} ({safe_text(env)}): "
        f"expected version {item.expected_version}, got {item.got_version}"
    )


def possible_gap_json(item: PossibleGap, environment_names: Mapping[str, str]) -> dict[str, object]:
    """`tail --json`'s line for a possible gap (`possible_gap_words`), in order with the events:
    the flag, its environment (the id, and the key as an event line has it), the version that
    was expected and the one that came, and the id and receive time of the event that brought
    it (Unix seconds, as the event lines')."""
    return {
        "kind": "possible_gap",
        "flag_key": item.flag_key,
        "environment_id": item.environment_id,
        "environment_key": environment_names.get(item.environment_id) or None,
        "expected_version": item.expected_version,
        "got_version": item.got_version,
        "id": item.event_id,
        "received_at": item.received_at,
    }


def unusable_json(item: Malformed) -> dict[str, object]:
    """`tail --json`'s line for an event it could not use (`malformed_words`), in order with the
    events: why, its data as received (cut as stderr shows it), its id and receive time, and
    `re_evaluate`: it was a JSON object naming no usable flag, so something changed (a tail
    that evaluates asks every flag again: what that finds follows as `found` lines)."""
    return {
        "kind": "unusable",
        "reason": item.reason,
        "data": item.raw,
        "id": item.event_id,
        "received_at": item.received_at,
        "re_evaluate": item.re_evaluate,
    }


def malformed_words(item: Malformed, evaluating: bool) -> str:
    """`evaluating`: whether this tail re-evaluates values (an unusable event makes it ask
    every flag again)."""
    where = f", id {safe_text(item.event_id)}" if item.event_id else ""
    if item.re_evaluate:
        then = (
            "re-evaluating every flag"
            if evaluating
            else "something changed, but values are not evaluated here"
        )
        return f"unusable event ({safe_text(item.reason)}{where}): {then}: {safe_text(item.raw)}"
    where = f" (id {safe_text(item.event_id)})" if item.event_id else ""
    return f"malformed event{where}: {safe_text(item.reason)}: {safe_text(item.raw)}"


def status_words(
    item: Status, previous: ConnectionState | None, url: str, error: str | None
) -> str | None:
    """The line of a status (None: not worth one): `previous` the state before it, `url` the
    stream's, `error` its error in plain words (support/plain_errors.py; None: it has none)."""
    if item.state is ConnectionState.CONNECTING:
        if item.error:  # connected, not live yet: why
            return f"{safe_text(item.error)} ({display_url(url)})"
        if previous is ConnectionState.RETRYING:
            return None  # the failure's line said when this try would be: one per attempt
        return f"connecting to {display_url(url)}"
    if item.state is ConnectionState.LIVE:
        return f"live since {clock(item.at)}"
    if item.state is ConnectionState.RETRYING:
        next_at = item.next_try_at if item.next_try_at is not None else item.at
        wait = max(0.0, next_at - item.at)
        return (
            f"{error or 'disconnected'}; attempt {item.attempt} failed, "
            f"next try in {wait:.1f} s (at {clock(next_at)})"
        )
    return f"stopped: {error or 'stopped'}"
