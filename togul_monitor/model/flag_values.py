"""Cached flag values for the profile's context, with before → after transitions.

CONTRACT (implementation to follow): the dataclasses below are the public shapes that the
monitor, the journal, the CLI and the TUI share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One answer of POST /api/v1/evaluate, parsed tolerantly."""

    value: Any
    value_type: str | None  # None: the server sent no (or an unknown) value_type
    reason: str | None
    enabled: bool | None


@dataclass(frozen=True, slots=True)
class FlagValue:
    """What the profile's context gets for one flag, as far as the monitor knows."""

    flag_key: str
    current: Evaluation | None  # None until the first evaluation answers
    previous: Evaluation | None
    evaluated_at: float | None
    trigger_event_id: str | None  # the event whose re-evaluation produced `current`
    stale: bool  # an event arrived and the re-evaluation has not answered yet
    deleted: bool  # a flag.deleted event, or evaluate answered 404
    error: str | None  # the last evaluation error, shown in place of a value


@dataclass(frozen=True, slots=True)
class ValueTransition:
    """`current` changed in value, reason or enabled: recorded once, tied to its event."""

    flag_key: str
    before: Evaluation | None
    after: Evaluation | None  # None when the flag was deleted
    event_id: str | None
    at: float
