"""The monitor core for one profile: stream → event log → journal, plus re-evaluation.

The TUI and the headless commands drive this, never the stages below it directly.

- `Monitor` is an asyncio object (`await start()`, `await stop()`). Headless commands run it in
  their loop and read `updates()` (or `run_headless`); the TUI runs it on a thread of its own
  (`MonitorThread`) and empties `drain()` when woken (`enable_drain`, updates.py).
- The work is split by job, one module each (docs/architecture.md's `core/` row names them):
  the stream task, what its items do, the values per context, the journal, the configurations.

The profile's environment: core/environment.py (a key's verified before the stream starts, a
token's looked up; a key of another environment is a ConfigError from `start`), core/plan.py;
tokens are refreshed by core/tokens.py. Flags monitored (core/evaluation.py): the watch list,
flags seen in the environment's events, listed by the management API or remembered by the
journal; at most `max_flags` besides the watch list (the rest are shown, not evaluated).

Threading: all state is owned by the monitor's loop. Other threads read a frozen
`MonitorSnapshot` (republished by replacing one reference) and the event log (its own lock);
queries and intents are handed to the loop. Journal reads run on the asking thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from togul_monitor.client.evaluate import EvaluateClient
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile
from togul_monitor.core.config_start import start_configs
from togul_monitor.core.configs import FlagConfigs
from togul_monitor.core.contexts import ContextEvaluations
from togul_monitor.core.environment import Environments, prepare, verify
from togul_monitor.core.intake import Intake
from togul_monitor.core.loop import OwnerLoop
from togul_monitor.core.monitor_journal import MonitorJournal
from togul_monitor.core.monitor_stream import MonitorStream
from togul_monitor.core.queries import flag_history, flag_merged, transitions_for
from togul_monitor.core.recording import journal_notice
from togul_monitor.core.snapshot import MonitorSnapshot, Publisher, copy_counters
from togul_monitor.core.stream_effects import StreamEffects
from togul_monitor.core.stream_factory import StreamFactory, default_stream_factory
from togul_monitor.core.takeover import TAKEOVER_INTERVAL
from togul_monitor.core.tokens import ProfileTokens
from togul_monitor.core.updates import MonitorUpdate, Noticed, UpdateHub
from togul_monitor.domain.event_log import EventFilter, Row
from togul_monitor.domain.events import ConnectionState, FlagEvent
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.values import FlagValue, ValueTransition
from togul_monitor.store.journal import Journal, LastValue

log = logging.getLogger(__name__)

__all__ = ["Monitor"]


class Monitor:
    def __init__(
        self,
        profile: Profile,
        *,
        record: bool = True,
        clock: Callable[[], float] = time.time,
        event_log_size: int = 100_000,
        journal_dir: Path | None = None,
        stream_factory: StreamFactory | None = None,
        max_pending: int = 50_000,
        evaluate_concurrency: int = 8,
        evaluate_settle: float = 0.01,
        evaluate_retry_delay: float = 5.0,
        journal_options: Mapping[str, Any] | None = None,
        max_flags: int | None = None,  # None: the profile's (`max_flags`, config/entry.py)
        configs: bool = True,  # follow the flags' configurations (with a token; core/configs.py)
        journal_url: str | None = None,  # None: the profile's (`journal_url`, else its file)
        journal_writer: bool = False,  # write a shared (PostgreSQL) journal, not only read it
        takeover_interval: float = TAKEOVER_INTERVAL,  # seconds between tries at a busy journal
    ) -> None:
        self.profile = profile
        self.record = record
        self._follow_configs = configs
        self._clock = clock
        self._journal_dir = journal_dir
        self._evaluate_concurrency = evaluate_concurrency
        self._evaluate_settle, journal_url = evaluate_settle, journal_url or profile.journal_url
        self._journal_options = dict(
            journal_options or {}, journal_url=journal_url, journal_writer=journal_writer
        )

        self._hub = UpdateHub(max_pending)
        self._intake = Intake(
            self._hub,
            clock,
            log_size=event_log_size,
            on_events=lambda batch: self._effects.events(batch),
            on_outage=lambda unseen, ask: self._effects.outage(unseen, ask),
            on_proven=lambda later: self._effects.outage_proven(later),
            on_gap=lambda gap: self._effects.gap(gap),
            on_blind=lambda blind: self._effects.blind(blind),
            on_change=lambda: self._publisher.changed(),
            on_live=lambda: self._environments.live(),  # the notes it held are due
            contradicted=lambda: self._effects.contradicted(),
            heartbeat=profile.heartbeat_seconds,
        )
        self.event_log = self._intake.log
        self._evaluations = ContextEvaluations(
            self._publish,
            clock,
            contexts=profile.evaluation_contexts,
            watched=profile.watch,
            retry_delay=evaluate_retry_delay,
            max_flags=profile.max_flags if max_flags is None else max_flags,
        )
        self._configs = FlagConfigs(self._publish, clock)  # configuration diffs (token only)
        self._notices: list[str] = []
        self._environments = Environments(profile.environment_key, self._publish)
        self._environments.on_change = lambda: self._publisher.changed()
        self._recording = MonitorJournal(
            self._intake,
            self._evaluations,
            self._configs,
            self._environments,
            clock,
            publish=self._publish,
            takeover_interval=takeover_interval,
        )
        self._effects = StreamEffects(self._environments, self._evaluations, self._configs)
        self._tokens = ProfileTokens(profile, self._note)  # on wall time, as a JWT's exp
        factory = stream_factory or default_stream_factory
        self._stream = MonitorStream(
            profile, self._intake, self._tokens, clock, factory, self._publish
        )
        self._environments.on_mismatch = self._stream.mismatch
        self._owner = OwnerLoop()
        self._publisher = Publisher(self._build_snapshot, self._evaluations.value_sets, self._hub)
        self._started = False
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("a Monitor starts once")
        self._started = True
        loop = self._owner.bind()
        profile = self.profile
        plan, verification = await prepare(profile, self._tokens.keeper)
        org_wide = not plan.credentials.environment_scoped  # a token's: every environment
        remembered, dated = (
            await self._open_journal(plan.environment_id, org_wide) if self.record else ({}, False)
        )
        self._stream.credentials = plan.credentials
        for note in plan.notes:  # the verification's: `Environments.notes`, once live
            self._note(note)
        evaluations = self._evaluations
        if plan.evaluate:
            evaluations.configure(
                profile,
                profile.evaluation_contexts,
                concurrency=self._evaluate_concurrency,
                settle=self._evaluate_settle,
            )
        self._environments.apply(plan, verification, lambda: verify(profile, plan))
        left_out = evaluations.seed(remembered, plan.listed, dated=dated)
        if left_out:
            limit = evaluations.max_flags
            self._note(f"{left_out:,} known flags not monitored (the limit is {limit:,} flags)")
        self._recording.use(self._recording.journal)  # every part records into it from now on
        self._start_stream()
        self._tokens.start()
        evaluations.evaluate_everything()
        if self._follow_configs:
            start_configs(
                self._configs, profile, plan, self._tokens.keeper, self._evaluations.max_flags
            )
        self._publisher.start(loop)

    async def stop(self) -> None:
        """Cancel the stream, close the HTTP clients, flush and close the journal."""
        if self._stopped:
            return
        self._stopped = True
        self._evaluations.close_soon()
        # Each step runs whatever the one before did: one failing close must not leave the
        # journal's writer thread running or an update stream waiting forever.
        try:
            await self._recording.stop_trying()  # first: no journal is taken over while closing
            await self._environments.aclose()  # then: a late probe's verdict stops nothing
            await self._intake.stop()
            await self._tokens.aclose()
            await self._evaluations.aclose()
            await self._configs.aclose()
        finally:
            try:
                await self._recording.close()
            finally:
                self._publisher.stop()
                self._hub.end_all()

    async def _open_journal(
        self, env_id: str | None, org_wide: bool
    ) -> tuple[dict[str, dict[str, LastValue]], bool]:
        """The journal's last values, and whether a replay may prove the time since its run
        whole (`FlagValues.seed`'s `dated`: core/recording.py `Opened.dated`)."""
        where = (self.profile, self._journal_dir, self._journal_options)
        opened = await self._recording.open(*where, env_id, org_wide)
        if opened.problem is not None:
            self._note(opened.problem)
        return opened.last_values, opened.dated

    def _note(self, text: str) -> None:
        log.info("%s", text)
        self._notices.append(text)
        self._publish(Noticed(text))  # a headless reader prints it (the TUI: the status bar)

    def _start_stream(self) -> None:
        self._stream.start()

    @property
    def configuration_error(self) -> ConfigError | None:
        """Why the stream was stopped for good: it proved the profile wrong (another
        environment's stream; core/monitor_stream.py)."""
        return self._stream.configuration_error

    async def stop_reading(self) -> None:
        """Read no more of the stream; what was read is applied and journalled as ever."""
        await self._intake.stop()

    # --- from the intake ----------------------------------------------------------------------

    def _publish(self, update: MonitorUpdate) -> None:
        self._hub.publish(update)
        self._publisher.changed()

    # --- snapshots ---------------------------------------------------------------------------

    def _build_snapshot(self, values: dict[str, dict[str, FlagValue]]) -> MonitorSnapshot:
        recording = self._recording
        journal, intake, evaluations = recording.journal, self._intake, self._evaluations
        alive, (configs, configs_read) = intake.last_alive(), self._configs.reads.copies()
        return MonitorSnapshot(
            profile_name=self.profile.name,
            environment_key=self.profile.environment_key,
            status=intake.status,
            last_heartbeat_at=intake.last_heartbeat_at,
            counters=copy_counters(intake.counters),
            trimmed=self.event_log.trimmed,
            dropped_updates=self._hub.dropped,
            values=values[evaluations.names[0]],
            contexts=evaluations.names,
            context_values=values,
            evaluator=evaluations.status,
            events_per_second=intake.rates.buckets(self._clock()),
            last_lag_seconds=intake.last_lag,
            environment_names=dict(self._environments.names),
            environment_id=self._environments.environment_id,
            environment_verified=not self._environments.notes,
            watched=frozenset(evaluations.watched),
            recording=journal is not None and not self._stopped and journal.writing,
            journal_notice=journal_notice(journal, recording.notice, self._stopped),
            recorder_busy=recording.busy,
            resumed=self._intake.resumed,
            watched_until=recording.watched_until_at(self._clock()),
            journal_moved_aside=journal is not None and journal.moved_to is not None,
            journal_dropped=journal.dropped if journal is not None else 0,
            journal_write_error=journal.write_error if journal is not None else None,
            journal_pending=journal.pending if journal is not None else 0,
            journal_waits=intake.journal_waits,
            evaluate_requests=evaluations.requests,
            max_flags=evaluations.max_flags,
            unmonitored_events=evaluations.unmonitored_events,
            events_in_log=self.event_log.total - self.event_log.trimmed,
            notices=(*self._notices, *self._environments.notes),
            feed_start=self._recording.live_from,
            recorded=intake.recorded,
            config_state=self._configs.state,
            configs_loaded=self._configs.loaded,
            configs_total=self._configs.total,
            config_requests=self._configs.requests,
            flag_configs=configs,
            configs_read=configs_read,
            configs_stopped=self._configs.refusal.stopped,
            last_alive_at=alive if intake.status.state is ConnectionState.LIVE else None,
            blind=evaluations.values.blind,
        )

    # --- any thread --------------------------------------------------------------------------

    def _published(self) -> MonitorSnapshot | None:
        """The published snapshot for a reader on another thread; None on the loop (or before
        anything was published), where the state may be read as it is."""
        return None if self._owner.here() else self._publisher.snapshot

    def snapshot(self) -> MonitorSnapshot:
        """The monitor's state: fresh on the loop, the last published one elsewhere."""
        published = self._published()
        return published if published is not None else self._publisher.fresh()

    def values(self) -> dict[str, FlagValue]:
        published = self._published()
        return published.values if published is not None else self._evaluations.values.copy()

    def environment_names(self) -> dict[str, str]:
        published = self._published()
        return published.environment_names if published else dict(self._environments.names)

    def loop_closed(self) -> None:  # the loop that ran this monitor has closed (its host says)
        self._owner.closed()

    def updates(self) -> AsyncIterator[MonitorUpdate]:
        """Every update from now on, until `stop()`; subscribed as soon as this is called (on
        the loop). Bounded: a reader that falls `max_pending` behind loses updates, counted in
        `snapshot().dropped_updates` (events stay in the log) and said by a `Dropped` where they
        were, but for what says the stream stopped or had a gap (core/updates.py `Overflow`)."""
        return self._hub.subscribe(ended=self._stopped)

    def enable_drain(self, on_updates: Callable[[], None] | None = None) -> None:
        """Collect updates for `drain()`; `on_updates`: the drain buffer's wake (updates.py)."""
        self._hub.enable_drain(on_updates)

    def drain(self) -> list[MonitorUpdate]:
        """All updates since the last call, oldest first."""
        return self._hub.drain()

    def events(self, flt: EventFilter | None = None, limit: int | None = None) -> list[FlagEvent]:
        """From the bounded event log, oldest first."""
        return self.event_log.events(flt, limit, self.environment_names())

    def rows_since(self, position: int) -> tuple[list[Row], int]:
        """The feed rows from event-log `position` on, and the position after the last."""
        return self.event_log.rows_since(position)

    def history(self, flag_key: str, limit: int = 500) -> list[HistoryEntry]:
        """Events, value transitions and outages of one flag, newest first (core/queries.py)."""
        intake, evaluations, journal = self._intake, self._evaluations, self._recording.journal
        environment_id = self._environments.environment_id  # read from any thread: a str
        return flag_history(
            self._owner, intake, evaluations, journal, flag_key, limit, environment_id
        )

    def evaluated_with_next(
        self, flag_key: str, entries: Sequence[HistoryEntry]
    ) -> dict[FlagEvent, tuple[str, ...]]:
        """The events of `history`'s entries evaluated with the next change (core/queries.py)."""
        return flag_merged(self._recording.journal, flag_key, entries)

    def transitions_for(self, event: FlagEvent) -> list[ValueTransition]:
        """Every context's value change of the event (memory, else the journal)."""
        state = self._owner, self._evaluations, self._environments, self._recording.journal
        return transitions_for(*state, self.event_log, event)

    def restart_stream(self) -> None:
        """Reconnect now; also lifts a credentials halt (the user may have fixed the key)."""
        self._owner.tell(self._restart_stream)

    def _restart_stream(self) -> None:
        if self._stopped or self.configuration_error is not None:
            return  # a wrong environment stays wrong: the profile must change
        self._evaluations.lift_halt()
        self._stream.restart()

    def reevaluate_all(self) -> None:
        self._owner.tell(lambda: None if self._stopped else self._evaluations.reevaluate_all())

    def set_watched(self, flag_key: str, watched: bool) -> None:
        def apply() -> None:
            if not self._stopped:
                self._evaluations.set_watched(flag_key, watched)
                self._publisher.changed()

        self._owner.tell(apply)

    # --- for the headless commands, tests and benchmarks -------------------------------------

    @property
    def journal(self) -> Journal | None:
        return self._recording.journal

    @property
    def evaluator(self) -> EvaluateClient | None:  # the first context's (None: no evaluation)
        return self._evaluations.client

    def evaluations_idle(self) -> bool:
        return self._evaluations.idle()

    def answered_mark(self) -> Callable[[], bool]:  # evaluations, fetches (hurried), the probe
        values, configs = self._evaluations.answered_mark(), self._configs.answered_mark()
        probe = self._environments.answered_mark()
        return lambda: values() and configs() and probe()

    def configs_idle(self) -> bool:  # no fetch an event asked for waits or runs
        return self._configs.idle()

    def flag_configs(self) -> Mapping[str, FlagConfig]:
        """Flag key → its last configuration snapshot (read-only; any thread)."""
        published = self._published()
        return published.flag_configs if published is not None else self._configs.copy()
