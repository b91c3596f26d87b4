"""Evaluation for every named context of a profile: one `Evaluations` per context, driven alike.

Each context has its own values, its own coalescing re-evaluator and its own evaluate client (the
context travels in the request), so a flag change costs one request per context, coalesced under
a burst exactly as with one. What the contexts share: the watch list, the flag limit (all of them
see the same events, so they monitor the same flags), the transition memory (one event may own a
transition per context) and the evaluator status, which is published once for all of them (a
rejected key is rejected for every context: said once, not once per context).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from togul_monitor.client.evaluate import EvaluateClient
from togul_monitor.config.entry import DEFAULT_MAX_FLAGS
from togul_monitor.config.profiles import Profile
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.core.transition_memory import TransitionMemory
from togul_monitor.core.updates import EvaluatorStatus, MonitorUpdate, ValueUpdated, status_kind
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import DEFAULT_CONTEXT, ValueTransition
from togul_monitor.store.journal import Journal, LastValue


class ContextEvaluations:
    def __init__(
        self,
        publish: Callable[[MonitorUpdate], None],
        clock: Callable[[], float],
        *,
        contexts: Iterable[str] = (DEFAULT_CONTEXT,),
        watched: Iterable[str],
        retry_delay: float,
        max_flags: int = DEFAULT_MAX_FLAGS,
    ) -> None:
        self._publish = publish
        self._published_kind: tuple[bool, bool, float | None] | None = None
        self.memory = TransitionMemory()
        watched = tuple(watched)
        self.by_context: dict[str, Evaluations] = {
            name: Evaluations(
                self._publish_once,
                clock,
                watched=watched,
                retry_delay=retry_delay,
                max_flags=max_flags,
                context=name,
                memory=self.memory,
            )
            for name in dict.fromkeys(contexts)
        }
        if not self.by_context:
            raise ValueError("a monitor evaluates for at least one context")
        self.first = next(iter(self.by_context.values()))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.by_context)

    @property
    def all(self) -> Iterable[Evaluations]:
        return self.by_context.values()

    @property
    def values(self) -> FlagValues:
        """The first context's values (what `snapshot.values` shows)."""
        return self.first.values

    @property
    def value_sets(self) -> dict[str, FlagValues]:
        return {name: e.values for name, e in self.by_context.items()}

    def _publish_once(self, update: MonitorUpdate) -> None:
        """Each context decides on its own when its status is news; what is published is the
        status of them all (`status`: the first that is not ok), once per change of it. So
        one context recovering says "ok" only when no other is still failing."""
        if isinstance(update, EvaluatorStatus):
            combined = self.status or update
            kind = status_kind(combined)
            if kind == self._published_kind:
                return
            self._published_kind = kind
            update = combined
        self._publish(update)

    # --- set up and close -----------------------------------------------------------------

    def set_journal(self, journal: Journal | None) -> None:
        for evaluations in self.all:
            evaluations.journal = journal

    def configure(
        self,
        profile: Profile,
        attributes: Mapping[str, Mapping[str, str]],
        *,
        concurrency: int,
        settle: float,
    ) -> None:
        """Evaluate each context with its attributes (name → attributes)."""
        for name, evaluations in self.by_context.items():
            context = dict(attributes.get(name, {}))
            evaluations.configure(profile, context, concurrency=concurrency, settle=settle)

    def seed(
        self,
        remembered: Mapping[str, dict[str, LastValue]],
        keys: Iterable[str],
        *,
        dated: bool = False,
    ) -> int:
        """The flags to monitor and each context's last values from the journal; the number
        of flags left out by the limit (the first context's count: all see the same flags).
        `dated`: the journal says until when its run watched (`FlagValues.seed`).

        A flag any of the profile's contexts remembers is monitored in every context: one
        added to the profile since the journal recorded it would otherwise never ask for it,
        and wait for the flag's next change. A flag whose newest remembered value is a deletion
        is deleted for every context that does not remember it (a deletion is the flag's),
        with no value before it. Contexts the profile no longer has are not read: their values
        stopped when they were removed, and a deletion since would read as live there."""
        live, deleted = _remembered_flags(remembered, self.by_context)
        keys = tuple(dict.fromkeys([*keys, *live]))
        left_out = [
            e.seed(_with_deleted(remembered.get(name, {}), deleted, name), keys, dated)
            for name, e in self.by_context.items()
        ]
        return left_out[0]

    def close_soon(self) -> None:
        for evaluations in self.all:
            evaluations.close_soon()

    async def aclose(self) -> None:
        for evaluations in self.all:
            await evaluations.aclose()

    # --- what the stream and the user ask for --------------------------------------------------

    def on_events(self, events: list[FlagEvent]) -> None:
        for evaluations in self.all:
            evaluations.on_events(events)

    def mark_unseen(self, keys: Iterable[str] | None = None) -> None:
        for evaluations in self.all:
            evaluations.values.mark_unseen(keys)
            evaluations.doubt.sync(evaluations.values, evaluations.journal)

    def unmark_outage(self) -> None:
        """The outage that marked every flag proved whole: its marks are taken back."""
        for evaluations in self.all:
            evaluations.values.unseen.unmark_outage()
            evaluations.doubt.sync(evaluations.values, evaluations.journal)

    def unmark_remembered(self) -> None:
        """The time since the earlier run proved whole: the marks of the values remembered
        from it are taken back (domain/unseen.py). Called whenever an outage is proved whole,
        so the journal then learns the doubt of values marked for a cause of their own before
        (core/doubt.py): the "watched until" mark moves past that outage from then on."""
        for evaluations in self.all:
            evaluations.values.unseen.unmark_remembered()
            evaluations.doubt.sync(evaluations.values, evaluations.journal)

    def adopt_doubt(self, held: Iterable[tuple[str, str]]) -> None:
        """A journal taken over, whose rows in doubt are `held` (context, flag)."""
        for name, evaluations in self.by_context.items():
            keys = [key for context, key in held if context == name]
            if evaluations.journal is not None:
                evaluations.doubt.adopt(evaluations.values, evaluations.journal, keys)

    def set_blind(self, blind: bool) -> None:
        """Blind: a live stream was lost (until its outage is decided and everything is asked
        again). A change made meanwhile may come unseen, so every value held is shown stale."""
        for evaluations in self.all:
            evaluations.values.blind = blind
            for value in evaluations.values.mark_all_stale() if blind else ():
                self._publish(ValueUpdated(value))

    def evaluate_everything(self) -> None:
        for evaluations in self.all:
            evaluations.evaluate_everything()

    def reevaluate_all(self) -> None:
        self._published_kind = None  # asked again: the next status is news again
        for evaluations in self.all:
            evaluations.reevaluate_all()

    def lift_halt(self) -> None:
        for evaluations in self.all:
            evaluations.lift_halt()

    def set_watched(self, flag_key: str, watched: bool) -> None:
        for evaluations in self.all:
            evaluations.set_watched(flag_key, watched)

    # --- state -------------------------------------------------------------------------------

    @property
    def watched(self) -> set[str]:
        return self.first.watched

    @property
    def max_flags(self) -> int:
        return self.first.max_flags

    @property
    def unmonitored_events(self) -> int:
        return self.first.unmonitored_events

    @property
    def client(self) -> EvaluateClient | None:
        """The first context's evaluate client."""
        return self.first.client

    @property
    def requests(self) -> int:
        """Evaluate requests of all contexts."""
        return sum(e.requests for e in self.all)

    @property
    def status(self) -> EvaluatorStatus | None:
        """The first context's status that is not ok, else the first context's."""
        for evaluations in self.all:
            status = evaluations.status
            if status is not None and not status.ok:
                return status
        return self.first.status

    def idle(self) -> bool:
        return all(e.idle() for e in self.all)

    def answered_mark(self) -> Callable[[], bool]:
        """Every context's `Evaluations.answered_mark`, made now, in one."""
        marks = [e.answered_mark() for e in self.all]
        return lambda: all(mark() for mark in marks)

    def transitions_of(self, flag_key: str) -> list[ValueTransition]:
        return self.memory.of_flag(flag_key)

    def transitions_for(self, event_id: str, flag_key: str) -> list[ValueTransition]:
        return self.memory.for_event(event_id, flag_key)


def _remembered_flags(
    remembered: Mapping[str, dict[str, LastValue]], contexts: Iterable[str]
) -> tuple[list[str], dict[str, float]]:
    """The flags `contexts` remember, each decided by its newest remembered value: those with a
    value (in the journal's order), and those deleted, with when."""
    newest: dict[str, LastValue] = {}
    for name in contexts:
        for key, last in remembered.get(name, {}).items():
            seen = newest.get(key)
            if seen is None or last.at > seen.at:
                newest[key] = last
    live = [key for key, last in newest.items() if not last.deleted]
    return live, {key: last.at for key, last in newest.items() if last.deleted}


def _with_deleted(
    own: dict[str, LastValue], deleted: Mapping[str, float], context: str
) -> dict[str, LastValue]:
    """`own`, with the flags deleted in other contexts that it does not remember."""
    missing = [key for key in deleted if key not in own]
    if not missing:
        return own
    gone = {key: LastValue(key, None, deleted[key], True, context) for key in missing}
    return {**own, **gone}
