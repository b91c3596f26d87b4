"""The deleted flags a context keeps: the newest `MAX_DELETED_FLAGS`, in the order they went.

A deleted flag keeps its value (`deleted`, the last one before as `previous`), so the values
pane and the inventory can say it went. The flag limit (`max_flags`) counts live flags only,
and a server with churn (a test suite, a script creating and deleting flags all day) deletes
flags without end: so past `MAX_DELETED_FLAGS` deleted flags of a context, the oldest deleted
are forgotten, whether the deletion was live (an event, a 404) or a start's, from the journal.
Forgotten: the value and its marks (domain/flag_values.py `forget`), what waits to ask about
the flag (the coalescer, a retry, a quota pause), the per-flag memory of its answers and of its
doubt; an answer still on its way is dropped (core/evaluation.py), so no row comes back.
Readers learn which from one `FlagsForgotten` per batch (core/updates.py).

`FlagValues` keeps the deleted flags as an insertion-ordered set, in the order they went, so
the bound costs no sort. A flag created again leaves them once its answer says so, and is not
forgotten while that answer is awaited; one forgotten comes back as a new flag. A watched flag
is never forgotten (the profile asks for it), though it counts among them. The journal keeps
what it has (the history of a forgotten flag still reads from it), and the transitions in
memory are a ring of their own (core/transition_memory.py).

When everything is asked again (an outage, `r`) the latest `DELETED_ASKED_AGAIN` deleted flags
are asked too: one may have come back while the stream was down (its flag.created lost), and a
404 keeps it deleted without a new transition. Not all: each would cost a request every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence, Set
from typing import Protocol

from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.store.journal import LastValue

# Module attributes, read when used: tests lower them.
MAX_DELETED_FLAGS = 1_000  # deleted flags a context keeps, beside watched ones
DELETED_ASKED_AGAIN = 50  # the latest deleted flags asked again with every other


class Forgets(Protocol):
    def forget(self, keys: Sequence[str]) -> None: ...


def latest_deleted(memory: Mapping[str, LastValue]) -> set[str]:
    """The journal's deleted flags a start takes again: a long-lived journal may remember
    thousands, and the latest come back most likely."""
    gone = sorted((last for last in memory.values() if last.deleted), key=lambda last: -last.at)
    return {last.flag_key for last in gone[:DELETED_ASKED_AGAIN]}


def forget_oldest(
    values: FlagValues,
    watched: Set[str],
    parts: Iterable[Forgets | None],
    pending: MutableMapping[str, str | None],
) -> tuple[str, ...]:
    """Past the bound, the oldest deleted flags forgotten in `values`, in every part that keeps
    something per flag and in `pending`; which, oldest first (none: within the bound, a check
    per batch). Never a watched one, nor one in `pending` (flag → its event not answered yet):
    an event asks about it again (created again, its answer will say), so it comes back."""
    keys = tuple(values.oldest_deleted(MAX_DELETED_FLAGS, watched, pending))
    if keys:
        values.forget(keys)
        for part in parts:
            if part is not None:
                part.forget(keys)
        for key in keys:
            pending.pop(key, None)
    return keys
