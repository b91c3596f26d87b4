"""What `tail`'s text lines say about an event besides the event itself (cli/render.py
`TailPrinter`), where the event line is printed:

- an event the server replayed after an outage (the rule `history` uses: domain/history.py
  `Replays`) gets a line under it, `  ↳ replayed: server time 12:00:01; received 12:00:09`: its
  line's time is when it was received, after the outage it happened in;
- an event whose own re-evaluation was merged into the next one's (a burst: core/coalesce.py)
  is said to be when that next event is printed, before its line. Nothing is printed under an
  event whose value did not change, so without it "unchanged" and "not evaluated on its own"
  would read alike. The rule is the feed's (ui/view/answers.py): an event waits for its flag's
  next value that is not stale; an event printed while the one before it of the same flag
  still waits was evaluated with it. Where the merged event's own lines are the last printed,
  the line goes under them, `  ↳ checkout-v2 (production): v7 evaluated with the next
  change`; else other lines (another flag's event, its `↳` lines, a status on stderr) sit
  between, and a `↳` there would read as theirs: the line then names the event's version and
  time and points at the event below it, `  ↓ checkout-v2 (production): v7 of 12:00:01
  evaluated with v8 (below)` (short enough for 80 columns with most keys).

What an event did (its value transitions, a flag's first value, its configuration diff:
cli/render.py) is printed when the answer or the fetch comes, which under a stream of several
flags' changes is often after other events' lines. So the same holds for those lines:
right under their event's lines they read `  ↳ checkout-v2 (production): false → true`; anywhere
else a `↳` would read as the line above's, and they name their event instead, by version and the
time its line shows, `  ↑ checkout-v2 v7 (12:00:01): false → true` (the environment too, as in
`(production, 12:00:01)`, once the tail has printed events of more than one: the same flag may
have the same version there). Which event a value is of is the feed's rule again: the event its
answer answered (`MergeMarks.owner`); a configuration diff comes with its event. When that is
not known (a stream without ids, whose lines cannot say; an answer that a newer event
superseded), a value line reads `↳` only right under lines of its flag; anywhere else it
claims no event, `  · checkout-v2 (production) [event unknown]: false → true`. A change no
event explains (found on a re-evaluation of its own, a diff found on a re-fetch: cli/render.py)
leads with `·` wherever it lands: under any event, `↳` would make it that event's effect.

Text output only: `--json` has both times of every event, and its per-event path does no more
than it did (cli/tail_output.py). An event is looked at here only when a replay's window is
open or it is of the profile's environment, whose values are evaluated.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from togul_monitor.cli.times import clock, replay_words
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import REPLAY_WINDOW, Replays
from togul_monitor.domain.merged import WITH_NEXT
from togul_monitor.domain.values import FlagValue
from togul_monitor.support.text import safe_text

MAX_FLAGS_FOLLOWED = 100_000  # flags whose last event waits for its answer, at most


class ReplayMarks:
    """The replay after the last outage the server replayed events for: its events, received
    within REPLAY_WINDOW of the outage's decision, are marked."""

    def __init__(self) -> None:
        self._replays: Replays | None = None
        self.until = -1.0  # received after this, an event is live: nothing to look at

    def outage(self, outage: Outage) -> None:
        if outage.replayed:
            self._replays = Replays([outage])
            self.until = outage.received_at + REPLAY_WINDOW

    def line(self, event: FlagEvent) -> str | None:
        """The line under a replayed `event` (`history`'s note, cli/history_lines.py); None
        for any other."""
        if self._replays is None:
            return None
        if event.received_at > self.until:
            self._replays, self.until = None, -1.0  # the window is over
            return None
        if self._replays.happened_at(event) is None:
            return None
        return f"  ↳ {replay_words(event.timestamp, event.received_at)}"


class MergeMarks:
    """Which printed events of the profile's environment still wait for their flag's answer
    (a value that is not stale) in the contexts followed: see the module's docstring."""

    def __init__(self, contexts: Sequence[str], *, named: bool = False) -> None:
        self.contexts = tuple(contexts)
        self.named = named  # the profile has named contexts: a line names them when not all
        self._waiting: dict[str, FlagEvent] = {}  # flag → its last event printed, unanswered
        self._answered: dict[str, set[str]] = {}  # flag → contexts that answered it so far
        self._evaluated: set[str] = set()  # flags the monitor published a value of
        # The last value's flag and context, and the event it answered: what the transition
        # published right after it (core/evaluation.py) is the effect of.
        self._answer: tuple[str, str, FlagEvent] | None = None
        self._merged: dict[str, FlagEvent] = {}  # flag → its event last merged into the next
        self.halted = False  # evaluate refused the credentials: nothing answers any more

    def narrow(self, contexts: Collection[str]) -> None:
        """Follow only these contexts (`--context`)."""
        self.contexts = tuple(name for name in self.contexts if name in contexts)

    def event(self, event: FlagEvent, where: str, under: FlagEvent | None) -> str | None:
        """`event` (of environment `where`) is printed: the line saying that the flag's
        previous event was evaluated with it (not answered before it came), if it was. `under`:
        the event whose lines are the last printed, if any (see the module's docstring)."""
        flag = event.flag_key
        waiting = self._waiting
        previous = waiting.pop(flag, None)
        if len(waiting) >= MAX_FLAGS_FOLLOWED:
            waiting.clear()
            self._answered.clear()
            self._merged.clear()
        waiting[flag] = event
        if previous is None:
            return None
        answered = self._answered.pop(flag, ())
        # A deletion answers every event before it "deleted" (as the feed does); a flag the
        # monitor never evaluated (past its flag limit) answers none of them.
        if self.halted or event.type == "flag.deleted" or flag not in self._evaluated:
            return None
        merged = [name for name in self.contexts if name not in answered]
        if not merged:
            return None
        self._merged[flag] = previous  # an answer that its id ties to it may still come
        named = ""
        if self.named and len(merged) < len(self.contexts):
            named = f" [{', '.join(safe_text(name) for name in merged)}]"
        about = f"{safe_text(flag)}{named} ({safe_text(where)})"
        if previous is under:
            return f"  ↳ {about}: v{previous.version} {WITH_NEXT}"
        when = clock(previous.received_at)  # the time its own line shows
        return f"  ↓ {about}: v{previous.version} of {when} evaluated with v{event.version} (below)"

    def value(self, value: FlagValue) -> None:
        """A value the monitor published."""
        flag = value.flag_key
        evaluated = self._evaluated
        if flag not in evaluated:
            if len(evaluated) >= MAX_FLAGS_FOLLOWED:
                evaluated.clear()
            evaluated.add(flag)
        self._answer = None
        if value.stale or (value.current is None and not value.deleted):
            return  # not an answer (still stale, failed, superseded)
        if flag not in self._waiting or value.context not in self.contexts:
            return
        self._answer = (flag, value.context, self._waiting[flag])
        answered = self._answered.setdefault(flag, set())
        answered.add(value.context)
        if answered.issuperset(self.contexts):
            del self._waiting[flag], self._answered[flag]

    def owner(self, flag: str, context: str, event_id: str | None) -> FlagEvent | None:
        """The printed event a value line of `flag` in `context` (tied to `event_id`) is the
        effect of: the one the value published just before it answered (the monitor publishes
        the value, then its transition or first value), unless their ids differ; else, with an
        id, the flag's waiting or last merged event that has it (no change or first value
        comes of an answer a newer event superseded: core/evaluation.py). None when none is
        known."""
        answer = self._answer
        if answer is not None and answer[0] == flag and answer[1] == context:
            event = answer[2]
            if event_id is None or event.event_id == event_id:
                return event
        if event_id is None:
            return None
        for known in (self._waiting.get(flag), self._merged.get(flag)):
            if known is not None and known.event_id == event_id:
                return known
        return None


def effect_lead(
    flag: str, named: str, where: str, owner: FlagEvent | None, *, near: bool, several: bool
) -> str:
    """What a line of `owner`'s effect starts with (see the module's docstring): `flag` and
    `named` (` [premium]`, or empty) made safe, `where` the environment (empty: none to say).
    `near`: the owner's lines are the last printed; `several`: the tail printed events of
    more than one environment. No owner known: `near` says the flag's lines are the last
    printed (its event's, likely); anywhere else the line claims none, `  · checkout-v2
    (production) [event unknown]`."""
    env = f" ({where})" if where else ""
    if near:
        return f"  ↳ {flag}{named}{env}"
    if owner is None:
        return f"  · {flag}{named}{env} [event unknown]"
    place = f"{where}, " if where and several else ""
    return f"  ↑ {flag} v{owner.version}{named} ({place}{clock(owner.received_at)})"
