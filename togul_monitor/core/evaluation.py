"""The evaluation side of a monitor: cached values, re-evaluation, transitions.

Events mark a flag's value stale and ask the `Reevaluator` (coalesced: a burst costs a handful of
requests) for a fresh answer; each answer becomes the flag's new value and, when value, reason
or enabled changed, a before → after transition tied to the event that caused it. Failures are
retried later; 401/403 halts evaluation (no request storm) until the user asks again.

Quota (403 `billing.evaluation_blocked`: the organization's evaluations are spent until the
period resets) is neither: evaluation pauses for `QUOTA_RETRY_DELAY` seconds, doubled after each
pause a quota answer ends, at most `QUOTA_RETRY_MAX` (core/quota_pause.py). What is asked
meanwhile waits; then one flag is asked again, and the rest follow once an answer is no quota.

Everything here runs on the monitor's loop and owns its state; the monitor publishes copies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from togul_monitor.client.evaluate import QUOTA_CODE, EvaluateClient, EvaluateResult, Outcome
from togul_monitor.config.entry import DEFAULT_MAX_FLAGS
from togul_monitor.config.profiles import Profile
from togul_monitor.core import deleted_flags
from togul_monitor.core.answered import AnswerRanges, first_events
from togul_monitor.core.doubt import JournalledDoubt
from togul_monitor.core.quota_pause import QuotaPause
from togul_monitor.core.reevaluate import Reevaluator
from togul_monitor.core.retry_later import RetryLater
from togul_monitor.core.transition_memory import TransitionMemory
from togul_monitor.core.updates import (
    EvaluatorStatus,
    FlagsForgotten,
    MonitorUpdate,
    TransitionRecorded,
    ValueUpdated,
    status_kind,
)
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import DEFAULT_CONTEXT, Evaluation, FlagValue, ValueTransition
from togul_monitor.store.journal import Journal, LastValue

log = logging.getLogger("togul_monitor.core.monitor")

# Read when a quota answer comes (module attributes, so tests can shorten them).
QUOTA_RETRY_DELAY = 60.0
QUOTA_RETRY_MAX = 900.0
QUOTA_PREFIX = f"evaluation quota exhausted ({QUOTA_CODE})"


class Evaluations:
    def __init__(
        self,
        publish: Callable[[MonitorUpdate], None],
        clock: Callable[[], float],
        *,
        watched: Iterable[str],
        retry_delay: float,
        max_flags: int = DEFAULT_MAX_FLAGS,
        context: str = DEFAULT_CONTEXT,
        memory: TransitionMemory | None = None,
    ) -> None:
        self._publish = publish
        self._clock = clock
        self.context = context
        self.values = FlagValues(context)
        self.watched: set[str] = set(watched)
        # Flag keys come from the server: beyond `max_flags` monitored flags (watched ones
        # always are), an event of another flag is shown and counted, not evaluated.
        self.max_flags = max(1, max_flags)
        self.unmonitored_events = 0
        self.status: EvaluatorStatus | None = None
        self.memory = TransitionMemory() if memory is None else memory
        self.ranges = AnswerRanges(context)  # for `history`: answers that covered several events
        self.client: EvaluateClient | None = None
        self._reevaluator: Reevaluator | None = None
        self.journal: Journal | None = None
        self.doubt = JournalledDoubt()  # the values the journal keeps in doubt (core/doubt.py)
        self._halted = False  # credentials rejected: no evaluate until asked again
        self._retry = RetryLater(retry_delay, self._retry_due)
        self._closed = False
        self._quota = QuotaPause()
        # Flag → its newest event not answered yet (a failed, deferred or halted evaluation):
        # asking the flag again answers that event (`evaluate_everything`).
        self._pending: dict[str, str | None] = {}

    def configure(
        self, profile: Profile, attributes: dict[str, str], *, concurrency: int, settle: float
    ) -> None:
        """Evaluate for `profile` (it has an API key and an environment key), `attributes`."""
        assert profile.api_key is not None
        self.values.environment_key = profile.environment_key or None  # what evaluate asks for
        self.client = EvaluateClient(
            profile.base_url,
            api_key=profile.api_key,
            environment_key=profile.environment_key,
            context=attributes,
        )
        self._reevaluator = Reevaluator(
            self.client.evaluate, self._on_result, concurrency=concurrency, settle=settle
        )

    def seed(self, memory: dict[str, LastValue], keys: Iterable[str], dated: bool = False) -> int:
        """The flags to monitor from the start, and the journal's last values (`memory`: stale
        baselines, `dated` as `FlagValues.seed` unless kept in doubt); those left out."""
        values, left_out = self.values, set[str]()  # a flag listed and remembered counts once
        for key in self.watched:
            values.ensure(key)
        for key in keys:
            if values.live_count < self.max_flags:
                values.ensure(key)
            elif key not in values:
                left_out.add(key)
        latest = deleted_flags.latest_deleted(memory)  # not thousands (core/deleted_flags.py)
        for key, last in memory.items():
            sure = dated and not last.in_doubt
            if last.deleted and key not in values and key not in latest:
                continue
            if last.deleted or key in values or values.live_count < self.max_flags:
                values.seed(key, last.evaluation, last.at, deleted=last.deleted, dated=sure)
            else:
                left_out.add(key)
                continue
            self.doubt.written(key, last.in_doubt)
        values.order_deleted()
        self._bound_deleted()
        return len(left_out)

    @property
    def requests(self) -> int:
        return self.client.counters.requests if self.client is not None else 0

    def idle(self) -> bool:
        return self._reevaluator is None or self._reevaluator.idle()

    def answered_mark(self) -> Callable[[], bool]:  # core/coalesce.py, for `tail --count`
        return (lambda: True) if self._reevaluator is None else self._reevaluator.mark(hurry=True)

    def close_soon(self) -> None:
        """The monitor is stopping: answers that still arrive are no longer news."""
        self._closed = True

    async def aclose(self) -> None:
        self._closed = True
        self._retry.cancel()
        self._quota.end()
        for closer in (self._reevaluator, self.client):
            if closer is not None:
                try:
                    await closer.aclose()
                except Exception:
                    log.warning("closing %s failed", type(closer).__name__, exc_info=True)

    # --- what the stream asks for --------------------------------------------------------

    def on_events(self, events: list[FlagEvent]) -> None:
        """Events of the profile's environment, in order: each flag is marked stale and
        re-evaluated once however many of its events the batch holds."""
        latest: dict[str, FlagEvent] = {}  # flag → its last event in the batch
        current_values = self.values.mapping
        room = self.max_flags - self.values.live_count  # flags this batch may still add
        for event in events:
            if event.flag_key not in current_values and event.flag_key not in latest:
                if room <= 0:
                    self.unmonitored_events += 1
                    continue
                room -= 1
                self.values.mark_new(event.flag_key, created=event.type == "flag.created")
            if event.type == "flag.deleted":
                latest.pop(event.flag_key, None)
                if self._reevaluator is not None:
                    self._reevaluator.cancel(event.flag_key)
                self._apply_deleted(event.flag_key, event.event_id)
                self.ranges.deleted(event.flag_key, self._clock())
            else:
                latest[event.flag_key] = event
        reevaluator = None if self._halted else self._reevaluator
        paused = self._quota.paused
        # The first event of each flag, for `history` (core/answered.py): in a batch of one event
        # per flag asked (the burst's common one) it is the last, at no cost (none asked: none).
        firsts = None if len(latest) in (0, len(events)) else first_events(events)
        for key, last in latest.items():
            self.values.mark_new(key, created=last.type == "flag.created")  # unless answered
            event_id, current = last.event_id, current_values.get(key)
            self._retry.newer_event(key, event_id)
            if self._halted and self._pending.get(key, event_id) != event_id:
                # A second event asked of nobody (credentials refused): no one answer will tell
                # which of them changed the value, so the answer after `r` is found, no event's.
                self._pending[key] = None
            else:
                self._pending[key] = event_id
            if current is None or not current.stale:
                changed = self.values.mark_stale(key)
                if changed is not None:
                    self._publish(ValueUpdated(changed))
            if not self._halted:  # asked of nobody meanwhile: no answer covers it
                self.ranges.asked(last, None if firsts is None else firsts[key])
            if paused:
                self._quota.defer(key, event_id)
            elif reevaluator is not None:
                reevaluator.request(key, event_id, event=True, new=current is None)
        self._bound_deleted()  # once per batch; not a flag asked about again (`_pending`)

    def evaluate_everything(self) -> None:
        if self._reevaluator is None or self._halted:
            return
        # The latest deleted flags too (core/deleted_flags.py). A flag whose event is not
        # answered yet is asked for that event, as the reevaluator keeps an event over a
        # baseline (core/coalesce.py `event_kept`): the answer is its effect, tied to it
        # everywhere, and marked `includes_unseen` when the stream may have missed changes
        # too. Without one, a change is found by this re-evaluation of its own.
        pending = self._pending
        for key in self.values.to_ask_again(deleted_flags.DELETED_ASKED_AGAIN):
            self._ask(key, pending.get(key))

    def reevaluate_all(self) -> None:
        """The user asks again: this also lifts a credentials halt (the key may be fixed)."""
        self._halted = False
        self.evaluate_everything()

    def lift_halt(self) -> None:
        self._halted = False

    def set_watched(self, flag_key: str, watched: bool) -> None:
        if not watched:
            self.watched.discard(flag_key)
            return
        self.watched.add(flag_key)
        new = self.values.ensure(flag_key)
        if new is not None:
            self._publish(ValueUpdated(new))
            if self._reevaluator is not None and not self._halted:
                self._ask(flag_key, None)

    # --- answers ------------------------------------------------------------------------------

    def _on_result(
        self, flag_key: str, event_id: str | None, result: EvaluateResult, superseded: bool
    ) -> None:
        if self._closed:
            return
        forgotten = flag_key not in self.values.mapping  # core/deleted_flags.py
        if result.outcome is Outcome.REJECTED:
            self._reject(result)
            return
        if result.outcome is Outcome.QUOTA:
            if not forgotten:  # else the next request says the quota is spent
                self._quota_answer(flag_key, event_id, result)
            return
        deferred = self._quota.answered()  # an answer that is no quota: the rest may follow
        if deferred and self._reevaluator is not None and not self._halted:
            for key, deferred_id in deferred.items():
                self._reevaluator.request(key, deferred_id)
        if forgotten:  # no row comes back; the quota's probe, if it was, still ended the pause
            return
        old = self.values.get(flag_key)
        if superseded:
            # A newer change is being evaluated: this answer may predate it, so it is not
            # news. Except the very first answer: it is the "before" of that change, and
            # without it the change would look like a first value and record no transition.
            if result.outcome is not Outcome.OK or (old is not None and old.current is not None):
                return
            if old is not None and old.deleted:
                return
            if self.values.created_by_event(flag_key):
                # Its before is nothing (its event created it), and the answer came once the
                # next change was known: it may already be that change's value. The next
                # answer tells `∅ → value` under the newer event, and the creation reads
                # "evaluated with the next change", as tail printed it when the newer came.
                return
        if not superseded and result.outcome in (Outcome.OK, Outcome.NOT_FOUND):
            self.ranges.answered(flag_key, self._clock(), self.journal)
            self._pending.pop(flag_key, None)  # asked after its newest event: answered
        if result.outcome is Outcome.OK:
            assert result.evaluation is not None
            self._record(flag_key, result.evaluation, event_id, old, still_stale=superseded)
        elif result.outcome is Outcome.NOT_FOUND:
            self._apply_deleted(flag_key, event_id)
            self._bound_deleted()
            self._set_status(EvaluatorStatus(True, None))
        else:
            value = self.values.mark_error(flag_key, result.message or "evaluate failed")
            self._publish(ValueUpdated(value))
            self._set_status(EvaluatorStatus(False, f"evaluate failed: {result.message}"))
            self._retry.schedule(flag_key, event_id)

    def _record(
        self,
        flag_key: str,
        evaluation: Evaluation,
        event_id: str | None,
        old: FlagValue | None,
        *,
        still_stale: bool,
    ) -> None:
        now, first = self._clock(), self.values.first_by_event(flag_key, still_stale=still_stale)
        value, transition = self.values.record(
            flag_key, evaluation, event_id=event_id, at=now, still_stale=still_stale
        )
        self._publish(ValueUpdated(value, first=first and transition is None))
        if transition is not None:
            self._record_transition(transition)
        first_value = old is None or old.current is None
        if transition is not None or first_value or self.doubt.changed(self.values, flag_key):
            self.doubt.set_last(self.values, self.journal, flag_key, evaluation, now)
        self._set_status(EvaluatorStatus(True, None))

    def _retry_due(self, flag_key: str, event_id: str | None) -> None:
        """A failed evaluation's retry (core/retry_later.py), unless the value came meanwhile."""
        value = self.values.get(flag_key)
        if value is not None and value.error is not None and not (self._closed or self._halted):
            self._ask(flag_key, event_id)

    def _apply_deleted(self, flag_key: str, event_id: str | None) -> None:
        self._pending.pop(flag_key, None)
        now = self._clock()
        old = self.values.get(flag_key)
        value, transition = self.values.mark_deleted(flag_key, event_id=event_id, at=now)
        self._publish(ValueUpdated(value))
        if transition is not None:
            self._record_transition(transition)
        if old is None or not old.deleted or self.doubt.changed(self.values, flag_key):
            journal, previous = self.journal, value.previous
            self.doubt.set_last(self.values, journal, flag_key, previous, now, deleted=True)

    def _bound_deleted(self) -> None:
        """Past the bound, the oldest deleted flags are forgotten (core/deleted_flags.py)."""
        parts = (self._retry, self._quota, self.ranges, self.doubt, self._reevaluator)
        keys = deleted_flags.forget_oldest(self.values, self.watched, parts, self._pending)
        if keys:
            self._publish(FlagsForgotten(keys, self.context))

    def _record_transition(self, transition: ValueTransition) -> None:
        self.memory.add(transition)
        if self.journal is not None:
            self.journal.append_transition(transition)
        self._publish(TransitionRecorded(transition, transition.flag_key in self.watched))

    # --- quota ------------------------------------------------------------------------------

    def _ask(self, flag_key: str, event_id: str | None) -> None:
        """A request to the reevaluator, or kept for later while quota pauses evaluation."""
        if self._quota.paused:
            self._quota.defer(flag_key, event_id)
        elif self._reevaluator is not None:
            self._reevaluator.request(flag_key, event_id)

    def _quota_answer(self, flag_key: str, event_id: str | None, result: EvaluateResult) -> None:
        """403 billing.evaluation_blocked: pause (core/quota_pause.py), keep what is asked
        meanwhile, say so on the value and once in the status."""
        quota = self._quota
        quota.defer(flag_key, event_id)
        quota.begin(
            self._clock(), result.retry_after, QUOTA_RETRY_DELAY, QUOTA_RETRY_MAX, self._quota_over
        )
        if self._reevaluator is not None:
            # What waits (a newer change of this flag too) is not sent into the pause.
            for key, waiting_id in self._reevaluator.take_waiting().items():
                quota.defer(key, waiting_id)
        old = self.values.get(flag_key)
        if (old is None or not old.deleted) and (old is None or old.error != QUOTA_PREFIX):
            self._publish(ValueUpdated(self.values.mark_error(flag_key, QUOTA_PREFIX)))
        self._set_status(EvaluatorStatus(False, QUOTA_PREFIX, retry_at=quota.until))

    def _quota_over(self) -> None:
        """The pause is over: ask about one flag; the others follow when its answer is no quota
        (a spent quota costs one request per pause, not one per flag)."""
        if self._closed or self._halted or self._reevaluator is None:
            return
        first = self._quota.take_one()
        if first is not None:
            self._reevaluator.request(*first)

    def _reject(self, result: EvaluateResult) -> None:
        """401/403: stop asking (no request storm) and say so once."""
        self._halted = True
        self.ranges.clear()
        self._quota.end()
        if self._reevaluator is not None:
            self._reevaluator.clear()
        message = f"evaluate refused the credentials ({result.message})"
        stuck = [
            v
            for v in self.values.copy().values()
            if (v.stale or v.current is None) and not v.deleted and v.error != message
        ]
        for value in stuck:
            self._publish(ValueUpdated(self.values.mark_error(value.flag_key, message)))
        self._set_status(EvaluatorStatus(False, message, credentials_rejected=True))

    def _set_status(self, status: EvaluatorStatus) -> None:
        current = self.status
        if current is None and status.ok:
            self.status = status
            return  # the first success is not news
        if current is not None and status_kind(current) == status_kind(status):
            return
        self.status = status
        self._publish(status)
