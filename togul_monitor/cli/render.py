"""How `tail` prints (`TailPrinter`): its lines, times as cli/times.py writes them (local, shared
with `history`), connection errors in plain words (support/plain_errors.py).

`tail` writes to stdout what happened to flags: each event, and each before → after transition
of a value the profile's context gets, on a line of its own when the re-evaluation answers
(which, when other lines came since its event, names that event: cli/tail_marks.py), or the
flag's first value when nothing told its value before. A profile that evaluates for named
contexts gets a line per context whose value changed, naming it (`  ↳ checkout-v2 [premium]:
false → true`); one with only its single `default` context prints the lines it always did.
`--json` names the context always. Everything about the stream itself (status, outages,
malformed events, possible gaps) goes to stderr; with `--json` an outage, its later proof, a
possible gap and an unusable event get a line on stdout too (cli/tail_output.py `OutageCauses`,
cli/stream_words.py), or a program reading the JSON would never learn that the stream had a gap
(what was found after a reconnect comes after its outage: cli/tail_found.py); so do the events a
tail that fell behind did not print (`dropped`). Server text goes through `safe_text` on human
lines and JSON escaping on JSON lines (ASCII only: cli/tail_output.py). stdout is buffered and
written together, within 50 ms of a line (`TailOutput`, cli/tail_output.py); stderr line by
line.

What an event changed in the flag's configuration (its rules, default, switch: a token profile
only, core/configs.py) follows the event too (or names it), a line per change (at most
MAX_DIFF_LINES); `--json` prints it as one `{"kind": "diff", ...}` object.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TextIO

from togul_monitor.cli.change_words import change_text, json_text
from togul_monitor.cli.stream_words import (
    malformed_words,
    outage_proven_words,
    outage_words,
    possible_gap_json,
    possible_gap_words,
    status_words,
    unusable_json,
)
from togul_monitor.cli.tail_found import FoundHold
from togul_monitor.cli.tail_marks import MergeMarks, ReplayMarks, effect_lead
from togul_monitor.cli.tail_output import (
    OutageCauses,
    TailOutput,
    dropped_json,
    dropped_text,
    event_lines,
    has_float,
    json_line,
)
from togul_monitor.cli.times import Stamps
from togul_monitor.core.updates import Dropped, EvaluatorStatus
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    Status,
    StreamItem,
)
from togul_monitor.domain.flag_config import ConfigDiff, change_lines, diff_to_json
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    UNSEEN_NOTE,
    FlagValue,
    ValueTransition,
)
from togul_monitor.store.export_json import (
    first_value_json,
    found_json,
    iso_time,
    transition_json,
)
from togul_monitor.support.plain_errors import plain_error
from togul_monitor.support.text import safe_text

# --- tail ----------------------------------------------------------------------------------

MAX_DIFF_LINES = 10  # lines one configuration diff prints at most (then "… N more")
MAX_MIDDLES = 4096  # human event lines' middles kept (type, flag, environment)
SAY_AGAIN_AFTER = 60.0  # seconds before the same failure (evaluator, diffs) is said again


class TailPrinter:
    """Turns stream items into output lines. Kept apart from I/O setup so tests can drive it."""

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        as_json: bool,
        environment_names: Mapping[str, str],
        url: str,
        environment_key: str = "",
        evaluating: bool = True,
        contexts: Sequence[str] = (DEFAULT_CONTEXT,),
    ) -> None:
        self.out = out
        self.output = TailOutput(out, err)  # buffered once the tail starts it (cli/tail.py)
        self.as_json = as_json
        # A copy the tail grows as the monitor learns environments (cli/tail.py).
        self.environment_names: dict[str, str] = dict(environment_names)
        self.url = url
        self.environment_key = environment_key  # the profile's: whose values are evaluated
        self.evaluating = evaluating  # the monitor re-evaluates values (core/plan.py)
        # The profile's contexts, in its order: a human line names a transition's context
        # unless the profile has only its single, unnamed one (then lines read as they did).
        self.contexts = tuple(contexts)
        self.names_contexts = self.contexts != (DEFAULT_CONTEXT,)
        self.state: ConnectionState | None = None  # the last connection state noted
        self.outages = OutageCauses()  # what `--json` says caused an outage
        self.found = FoundHold()  # found changes' lines held until their outage's
        self.last_error: str | None = None  # the last failure, in plain words
        self._stamp = Stamps()
        self._middles: dict[tuple[str, str, str], str] = {}  # (type, flag, environment) → text
        self._failures_said: dict[str, float] = {}  # a failure said (`_say_seldom`) → when
        # The events carry ids: a change tied to none is no event's. Known from the last batch
        # of events, or before any (`note`) from an outage the stream resumed with an id.
        self.ids_seen = False
        # Text lines only: what a line says under an event (cli/tail_marks.py).
        self.replays = ReplayMarks()
        self.merges = MergeMarks(self.contexts, named=self.names_contexts)
        self._evaluated = environment_key if evaluating and not as_json else None
        # The event whose lines (its own, its replay's, what it did) are the last printed, on
        # stdout and stderr alike: a merge line, a value or a diff line goes under it only
        # (cli/tail_marks.py).
        self._under: FlagEvent | None = None
        self._wheres: set[str] = set()  # the environments of the events printed

    @property
    def err(self) -> TextIO:
        """stderr: written in order with stdout, by the output (`say`)."""
        return self.output.err

    @err.setter
    def err(self, err: TextIO) -> None:
        self.output.err = err

    def key_of(self, environment_id: str) -> str | None:
        return self.environment_names.get(environment_id) or None

    def _write(self, line: str) -> None:
        self._under = None
        self.output.line(line)

    def flush(self) -> None:
        """Write what stdout holds now (cli/tail_output.py)."""
        self.output.flush()

    def release_found(self) -> None:
        """Print the found changes held (the outage came, the wait is over, the tail ends):
        their lines are made now, after what the outage said (cli/tail_found.py)."""
        for update in self.found.release():
            update()

    def event(self, event: FlagEvent) -> None:
        self.events((event,))

    def events(self, events: Sequence[FlagEvent]) -> None:
        """A run of events' lines. In JSON the shape of `with_environment_key(event, names,
        kind="event")` (store/export_json.py), encoded with the other lines of their batch
        (cli/tail_output.py)."""
        if events:
            self.ids_seen = events[-1].event_id is not None
        if self.as_json:
            self.output.events(event_lines(events, self.environment_names))
            return
        for event in events:
            self._event_text(event)

    def _event_text(self, event: FlagEvent) -> None:
        where = event.environment_id
        where = self.environment_names.get(where) or where
        # The line's middle, made safe once per flag: a burst repeats a few flags many times.
        shown = (event.type, event.flag_key, where)
        middle = self._middles.get(shown)
        if middle is None:
            if len(self._middles) >= MAX_MIDDLES:
                self._middles.clear()
            self._wheres.add(where)  # more than one: a far effect line names its environment
            middle = self._middles[shown] = (
                f"{safe_text(event.type):<12}  {safe_text(event.flag_key)}  {safe_text(where)}"
            )
        if where == self._evaluated and (merged := self.merges.event(event, where, self._under)):
            self._write(merged)  # before this event's line: the one it was merged into
        # The time it was received, as the TUI's feed shows it (the server's is in --json).
        self._write(f"{self._stamp(event.received_at)}  {middle}  v{event.version}")
        if event.received_at <= self.replays.until and (replayed := self.replays.line(event)):
            self._write(replayed)
        self._under = event

    def value(self, value: FlagValue) -> None:
        """A value the monitor published: an answer ends an event's wait (cli/tail_marks.py)."""
        if self._evaluated is not None:
            self.merges.value(value)

    def transition(self, transition: ValueTransition) -> None:
        """A value one of the profile's contexts gets changed: on stdout, after the event's
        line (one line per context that changed). One no event explains may be held until an
        outage (cli/tail_found.py): its line is made when it is printed."""
        # The event it answered is known now only (the value published just before it).
        flag, context, event_id = transition.flag_key, transition.context, transition.event_id
        owner = None if self.as_json else self.merges.owner(flag, context, event_id)
        self.found.print_or_hold(event_id is None, partial(self._transition, transition, owner))

    def _transition(self, transition: ValueTransition, owner: FlagEvent | None) -> None:
        found = transition.event_id is None and self.ids_seen  # a re-evaluation's own
        if self.as_json:  # a found one as `export` writes it, a `found` line
            key = self.environment_key or None
            data = found_json(transition, key) if found else transition_json(transition, key)
            floats = has_float(transition.before) or has_float(transition.after)
            self._write(json_line(data, floats=floats))
            return
        note = f" ({UNSEEN_NOTE})" if transition.includes_unseen and not found else ""
        text = f"{change_text(transition.before, transition.after)}{note}"
        self._value_line(transition.flag_key, transition.context, transition.event_id, owner, text)

    def first_value(self, value: FlagValue) -> None:
        """The first value of a flag that an event brought, with no value before it to compare
        with: `  ↳ checkout-v2 (production): now false (first value, reason disabled)`."""
        flag, context, event_id = value.flag_key, value.context, value.trigger_event_id
        owner = None if self.as_json else self.merges.owner(flag, context, event_id)
        self.found.print_or_hold(event_id is None, partial(self._first_value, value, owner))

    def _first_value(self, value: FlagValue, owner: FlagEvent | None) -> None:
        if self.as_json:
            data = first_value_json(value, self.environment_key or None)
            self._write(json_line(data, floats=has_float(value.current)))
            return
        now = value.current
        assert now is not None  # a first value is an answer
        why = f"first value, reason {safe_text(now.reason or '?')}"
        text = f"now {json_text(now.value)} ({why})"
        self._value_line(value.flag_key, value.context, value.trigger_event_id, owner, text)

    def _value_line(
        self, flag_key: str, context: str, event_id: str | None, owner: FlagEvent | None, text: str
    ) -> None:
        """`  ↳ checkout-v2 [premium] (production): <text>` under its event's lines, else naming
        the event (cli/tail_marks.py). A line tied to no event of a stream that sends ids says
        it was found on a re-evaluation of its own, as a diff found on a re-fetch does, and
        leads with `·`, the mark of a line that claims no event: wherever it lands, a `↳`
        would read as the effect of the event printed above it."""
        named = f" [{safe_text(context)}]" if self.names_contexts else ""
        where = safe_text(self.environment_key)
        if event_id is None and self.ids_seen:
            env = f" ({where})" if where else ""
            self._write(f"  · {safe_text(flag_key)}{named}{env} [found on re-evaluation]: {text}")
            return
        self._effect(safe_text(flag_key), named, where, owner, text, flag_key)

    def _effect(
        self, flag: str, named: str, where: str, owner: FlagEvent | None, line: str, key: str
    ) -> None:
        """A line of what `owner` did, `↳` right under its lines (which it then extends). Its
        event not known (`owner` None): `↳` only right under lines of the flag (`key`) in the
        profile's environment; anywhere else it claims no event (cli/tail_marks.py)."""
        under = self._under
        if owner is not None:
            near = owner is under or owner == under
        else:
            near = under is not None and under.flag_key == key and self._evaluated_at(under)
        lead = effect_lead(flag, named, where, owner, near=near, several=len(self._wheres) > 1)
        self._write(f"{lead}: {line}")
        if near:
            self._under = under  # its lines go on: the next one goes under them too

    def _evaluated_at(self, event: FlagEvent) -> bool:
        """`event` is of the profile's environment, whose values are evaluated."""
        where = self.environment_names.get(event.environment_id) or event.environment_id
        return where == self._evaluated

    def config_change(self, diff: ConfigDiff, event: FlagEvent | None, at: float) -> None:
        """What an event changed in the flag's configuration: after the event's line. One found
        on a re-fetch (no event) may be held until an outage, as a found value change is."""
        self.found.print_or_hold(event is None, partial(self._config_change, diff, event, at))

    def _config_change(self, diff: ConfigDiff, event: FlagEvent | None, at: float) -> None:
        key = self.key_of(diff.environment_id)
        if self.as_json:
            data: dict[str, object] = {"kind": "diff", **diff_to_json(diff)}
            data["environment_key"] = key
            data["event_type"] = event.type if event is not None else None
            data["at"] = iso_time(at)
            self._write(json_line(data))
            return
        if diff.first_seen:
            return  # nothing to compare with, nothing claimed: not worth a line (JSON has it)
        flag, where = safe_text(diff.flag_key), safe_text(key or diff.environment_id)
        lines = change_lines(diff)
        shown = lines[:MAX_DIFF_LINES] if len(lines) > MAX_DIFF_LINES + 1 else lines
        if len(shown) < len(lines):
            shown = [*shown, f"… {len(lines) - len(shown)} more changes"]
        for line in shown:
            if event is None:
                self._write(f"  · {flag} ({where}) [found on a re-fetch]: {line}")  # no event
            else:
                self._effect(flag, "", where, event, line, diff.flag_key)

    def note(self, item: StreamItem) -> None:
        if self.as_json and isinstance(item, (Outage, OutageProven)):
            # On stdout too, in order with the events (an outage before those replayed for it):
            # a reader of the JSON alone learns that the stream had a gap, and of its proof.
            self._write(json_line(self.outages.line(item)))
        elif self.as_json and isinstance(item, PossibleGap):  # so may a gap, an unusable event
            self._write(json_line(possible_gap_json(item, self.environment_names)))
        elif self.as_json and isinstance(item, Malformed):  # (cli/stream_words.py)
            self._write(json_line(unusable_json(item)))
        error = None  # a status's, in plain words: its line's, and an outage's `--json` cause
        if isinstance(item, Status) and item.error:
            error = plain_error(item.error, self.url)
        text = self._describe(item, error)
        if isinstance(item, Outage):
            self.replays.outage(item)
            if item.replayed is not None:
                # It resumed after an event's id (the journal's, in a run that has had no event
                # yet): the stream sends ids, and what its re-evaluation finds is no event's.
                self.ids_seen = True
        if isinstance(item, Status):
            self.outages.status(item, self.state, error)
            self.state = item.state
            for update in self.found.status(item.state):  # found before the status came
                update()
        if text is not None:
            self.say(text)
        if isinstance(item, Outage):
            self.release_found()  # found after the reconnect: after the outage's lines

    def dropped(self, dropped: Dropped) -> None:
        """Updates the tail took too late to get (the monitor's drain buffer was full): said on
        stderr, and with `--json` on stdout too, where the events are missing."""
        if self.as_json:
            self._write(json_line(dropped_json(dropped)))
        self.say(dropped_text(dropped))

    def evaluator(self, status: EvaluatorStatus) -> None:
        """A failing evaluator on stderr, each failure at most once a minute. The status is the
        evaluator's as a whole: one flag that keeps failing among others that answer flips it
        at every answer, so a line per change would flicker; and the recovery is not said at
        all, the value changes that follow show it."""
        if status.ok:
            return
        why = safe_text(status.text(time.time()) or "evaluation failed")
        if status.credentials_rejected:  # nothing more is asked (the TUI can ask again, not tail)
            self.merges.halted = True
            text = f"{why}: value changes are no longer shown"
        else:
            text = f"{why}: value changes are not shown where it fails, until it answers again"
        self._say_seldom(text)

    def configs_stopped(self, error: str, hint: str = "") -> None:
        """Configurations no longer followed (a token refused): said as a failure is, with how
        to fix it (when the token expired, how to log in again)."""
        fix = f": {safe_text(hint)}" if hint else ""
        self._say_seldom(f"configuration diffs are no longer shown: {safe_text(error)}{fix}")

    def _say_seldom(self, text: str) -> None:
        """`say`, each text at most once every SAY_AGAIN_AFTER seconds."""
        now, said = time.monotonic(), self._failures_said
        if now - said.get(text, -math.inf) < SAY_AGAIN_AFTER:
            return
        if len(said) >= 64:  # the texts hold server words: bounded
            said.clear()
        said[text] = now
        self.say(text)

    def say(self, text: str) -> None:
        """One status line on stderr (`text` is safe already), after what stdout holds: a
        terminal that shows both shows them in order."""
        self._under = None  # a terminal shows it between the lines of stdout
        self.output.err_line(f"tail: {text}")

    def _describe(self, item: StreamItem, error: str | None) -> str | None:
        if isinstance(item, Status):
            return self._describe_status(item, error)
        if isinstance(item, Outage):
            return outage_words(item)
        if isinstance(item, OutageProven):
            return outage_proven_words(item.outage)
        if isinstance(item, Malformed):
            return malformed_words(item, self.evaluating)
        if isinstance(item, PossibleGap):
            return possible_gap_words(item, self.environment_names)
        return None  # heartbeats: not worth a line

    def _describe_status(self, item: Status, error: str | None) -> str | None:
        """`error`: the status's, in plain words (None: it has none)."""
        if item.state is ConnectionState.LIVE:
            self.last_error = None
        elif item.state is ConnectionState.RETRYING:
            self.last_error = error or "disconnected"
        elif item.credentials_rejected:  # said once, with the key: cli/tail_loop.py
            return None
        return status_words(item, self.state, self.url, error)
