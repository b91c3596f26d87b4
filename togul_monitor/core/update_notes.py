"""The rare updates that tell a reader something rather than carry the stream's data: the
configuration diffs stopped, the journal's recording taken over or its recorder found stopped,
and a notice the monitor gives mid-run. core/updates.py carries them (and re-exports them)."""

from __future__ import annotations

import msgspec


class ConfigsStopped(msgspec.Struct, frozen=True):
    """The flags' configurations are no longer followed (the token was refused, core/configs.py):
    published when they halt (once, until the server answers again: core/config_refusal.py), so
    that a reader does not just go quiet about diffs."""

    error: str
    hint: str = ""  # how to fix it: when the token expired, how to log in again
    at: float = 0.0  # when they stopped (the monitor's clock)


class RecordingTaken(msgspec.Struct, frozen=True):
    """The monitor records the profile's journal from now on: the process that recorded it has
    gone (core/takeover.py), and what the journal lacked is appended to it. A headless reader
    said `not recording` at its start: `tail` and `record` now say that it does."""

    at: float


class RecorderStopped(msgspec.Struct, frozen=True):
    """The journal's recorder, which this reader took for a live one when it opened the journal
    (its mark was recent, or a busy SQLite file's), had stopped watching at `watched_until`:
    its mark did not move when a live recorder's would have, an outage says so, or this
    monitor took the journal over from it (core/monitor_journal.py). The time from there to
    this run's start was watched by nobody: a reader's feed shows it now, late, where it
    would have been had it opened later (the snapshot's `watched_until` says it too)."""

    watched_until: float


#: What a headless reader says of `RecordingTaken` (`tail` on stderr, `record` in its log).
RECORDING_TAKEN = "recording now: the profile's recorder has gone"


class Noticed(msgspec.Struct, frozen=True):
    """A notice the monitor gave after it started (a renewed token not written back to the
    profile, a refresh token from a variable spent: core/tokens.py). The TUI's status bar shows
    the snapshot's notices; a headless reader, which printed those at its start, prints this."""

    text: str
