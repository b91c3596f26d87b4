"""Why every value shown may be out of date, whatever each value's own state says: one rule for
the values pane's title, the inventory's header and a values row's detail (`enter`).

- silent: the stream is live but has sent nothing (no event, no heartbeat) for longer than it
  should, by the rule of the status bar's `no data Ns` (view/status.py `silence`): a change
  made since may not have reached the monitor, and nothing asks again until one does;
- down: the stream is not live: a change made meanwhile reaches the monitor only when it is
  live again. Once a live stream is lost (`MonitorSnapshot.blind`) nothing is asked: every value
  is asked again when it is back (core/intake.py, with its outage);
- stopped: no monitor runs (a profile that could not be opened stopped the one before): the
  values shown are that one's, which nothing follows or asks again.

The values are not marked one by one for it (a value marked stale is asked again, and what it
finds journalled): the view says it. A value's own ⟳ says it is stale; its words (`state_words`)
say whether it was asked again or waits for the stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from togul_monitor.domain.events import ConnectionState
from togul_monitor.ui.view.format import fmt_age

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import MonitorSnapshot

SILENT, DOWN, STOPPED = "silent", "down", "stopped"

STALE_NOTE = "not live: may be stale"
STOPPED_NOTE = "stopped: not followed, may be stale"

STALE_WORDS = "⟳ stale: asked again, not answered yet (after the start, an event, an outage or r)"
BLIND_WORDS = "⟳ stale: the stream is down; asked again once it is back"
STOPPED_WORDS = "⟳ stale: the profile before's value; nothing runs to ask it again"
CURRENT_WORDS = "current: the latest answer, nothing asked since"


class Doubt(msgspec.Struct, frozen=True):
    kind: str  # SILENT, DOWN or STOPPED
    silent: float = 0.0  # SILENT: seconds since the stream's last sign of life
    blind: bool = False  # DOWN: a live stream was lost; nothing is asked until it is back

    @property
    def note(self) -> str:
        """What the values pane's title and the inventory's header say, first (cut last)."""
        if self.kind == SILENT:
            return f"no data {fmt_age(self.silent)}: may be stale"
        return STOPPED_NOTE if self.kind == STOPPED else STALE_NOTE

    @property
    def words(self) -> str:
        """Why a value may be out of date, for a value's detail."""
        if self.kind == SILENT:
            silent = fmt_age(self.silent)
            return f"the stream has been silent {silent}: changes since may not be shown"
        if self.kind == STOPPED:
            return "nothing runs: the profile before's value, not followed"
        return "the stream is not live: changes made meanwhile are not shown"


def doubt_of(
    snapshot: MonitorSnapshot | None, silent: float | None, stopped: bool = False
) -> Doubt | None:
    """Why the values may be out of date now (None: they follow the server): `silent` is the
    status bar's (`StatusInfo.silent`); without a snapshot no monitor runs, and `stopped` says
    the values shown are still those of the one before."""
    if snapshot is None:
        return Doubt(STOPPED) if stopped else None
    if snapshot.status.state is not ConnectionState.LIVE:
        return Doubt(DOWN, blind=snapshot.blind)
    return Doubt(SILENT, silent=silent) if silent is not None else None


def state_words(stale: bool, doubt: Doubt | None) -> str:
    """A held value's state in words: asked again (only when it was, or is queued to be), waiting
    for the stream, left by a monitor that no longer runs, or current (unless the stream's
    state puts it in doubt)."""
    if stale:
        if doubt is not None and doubt.kind == STOPPED:
            return STOPPED_WORDS
        return BLIND_WORDS if doubt is not None and doubt.blind else STALE_WORDS
    return CURRENT_WORDS if doubt is None else f"may be stale: {doubt.words}"
