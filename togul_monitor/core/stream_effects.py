"""What the stream's items do to the values and configurations of the profile's environment.

The intake (core/intake.py) reads the stream and says what came; this passes it on to the
evaluation side (core/contexts.py) and the configurations (core/configs.py), for the events of
the profile's environment only (core/environment.py):

- events: each flag's value re-evaluated and its configuration fetched again;
- an outage, or an unusable event: everything asked again (`ask`), and when the stream may have
  missed changes (`unseen`), the next change of every flag is marked as possibly holding some;
- an outage reported as one that may have missed changes, proved whole later (the first event
  after it resumed the ids): the marks it added are taken back; what it asked again stays;
- a run's values (and configurations) remembered from an earlier run are marked too (the server
  may have changed meanwhile), but when the journal dates that run's end, the time between the
  runs is the run's first outage: proved whole (at once, or later as above), its replay is the
  whole account, and those marks are taken back (domain/unseen.py);
- a possible gap (a flag's version jumped): that flag's next change is marked so;
- while the stream is blind (down, or back and its outage not decided yet: up to a second),
  every change found is marked so: an answer then may hold a change whose event was lost;
- a change found with no event to explain it since the stream was lost (`contradicted`: the
  re-evaluation after the outage, or an answer while blind) says events were lost, whatever the
  ids say: the outage is not proved whole (core/intake.py).

Runs on the monitor's loop.
"""

from __future__ import annotations

from togul_monitor.core.configs import FlagConfigs
from togul_monitor.core.contexts import ContextEvaluations
from togul_monitor.core.environment import Environments
from togul_monitor.domain.events import FlagEvent, PossibleGap


class StreamEffects:
    def __init__(
        self, environments: Environments, evaluations: ContextEvaluations, configs: FlagConfigs
    ) -> None:
        self._environments = environments
        self._evaluations = evaluations
        self._configs = configs
        # Unexplained changes found before the stream was last lost (None: never lost in this
        # run). A resumed run's first outage is not checked: the values asked at the start
        # answer before the replay that explains their changes has come.
        self._unexplained_before: int | None = None

    def events(self, batch: list[FlagEvent]) -> None:
        relevant = self._environments.relevant(batch)
        if relevant:
            self._evaluations.on_events(relevant)
            self._configs.on_events(relevant)

    def outage(self, unseen: bool, ask: bool) -> None:
        """`unseen`: the stream may have missed changes (marked at once); `ask`: everything
        is asked again now (else a re-evaluation is already due)."""
        if unseen:
            self._evaluations.mark_unseen()
            self._configs.mark_unseen()
        if ask:
            self._evaluations.evaluate_everything()
            self._configs.refetch_all()

    def outage_proven(self, later: bool) -> None:
        """An outage proved whole, `later` (reported as possibly missing changes: the marks it
        added are taken back, those of remembered values among them when it is the first) or at
        once. Marks of remembered values left then (only the first outage, the time between the
        runs, finds any) are taken back too."""
        if later:
            self._evaluations.unmark_outage()
            self._configs.unseen.unmark_outage()
        self._evaluations.unmark_remembered()
        self._configs.unseen.unmark_remembered()

    def contradicted(self) -> bool:
        """Whether a value changed with no event to explain it, found since the stream was last
        lost while the stream may have missed changes (core/transition_memory.py): an event was
        lost, so the outage of that time is no proof of continuity, whatever its ids say. A
        change whose event is on its way as the value is asked says so too (the cautious
        side)."""
        before = self._unexplained_before
        return before is not None and self._evaluations.memory.unexplained != before

    def blind(self, blind: bool) -> None:
        if blind:
            self._unexplained_before = self._evaluations.memory.unexplained
        self._evaluations.set_blind(blind)
        self._configs.blind = blind

    def gap(self, gap: PossibleGap) -> None:
        """The event of the version in between was lost: the flag's next change (the event
        after the gap's) may hold its change too."""
        if self._environments.environment_id in (None, gap.environment_id):
            self._evaluations.mark_unseen((gap.flag_key,))
            self._configs.mark_unseen((gap.flag_key,))
