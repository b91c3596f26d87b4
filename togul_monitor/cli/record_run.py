"""One profile under `togul-monitor record`: its monitor, its log lines and its counts.

A `ProfileRun` starts a recording monitor (core/runner.py `run_headless`), registers it with
the metrics collector, and reads its updates until the recorder stops or the profile's stream
stops for good (credentials rejected, the stream proved the profile wrong). Stopping the
monitor flushes and closes its journal (core/monitor.py `stop`), and its update stream ends only
after that, so the reader sees every update and `run()` returns once the journal is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Mapping
from typing import Any

from togul_monitor import core
from togul_monitor.cli.record_log import RecordLog, iso_utc
from togul_monitor.cli.record_metrics import MetricSource, ProfileCounts, RecorderCollector
from togul_monitor.client.credentials import stream_credentials
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.validate import display_url
from togul_monitor.core import Monitor, TransitionRecorded
from togul_monitor.core.snapshot import MonitorSnapshot
from togul_monitor.core.updates import (
    RECORDING_TAKEN,
    Dropped,
    EvaluatorStatus,
    Noticed,
    RecordingTaken,
    ValueUpdated,
)
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    Status,
)
from togul_monitor.support.text import mask_secret, safe_text

RAW_SHOWN = 200  # characters of a malformed event's raw text in its log line
HEALTH_EVERY = 1.0  # seconds between two looks at the journal's health


class Ending(enum.Enum):
    """Why a profile stopped before the recorder did."""

    CREDENTIALS = "credentials rejected"
    CONFIGURATION = "configuration error"
    FAILED = "failed"


class ProfileRun:
    def __init__(
        self,
        profile: Profile,
        log: RecordLog,
        collector: RecorderCollector,
        stop: asyncio.Event,
        monitor_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.profile = profile
        self.name = profile.name
        self._log = log
        self._collector = collector
        self._stop = stop
        self._options = dict(monitor_options or {})
        self.counts = ProfileCounts()
        self._evaluate_ok = True
        self._notice: str | None = None
        self._said: tuple[str, ...] = ()  # the monitor's notices logged at its start
        self._journal_dropped = 0
        self._write_error: str | None = None  # the last write failure said in a `journal` line
        self._updates_dropped = 0

    async def run(self) -> Ending | None:
        """Record until the recorder stops (None) or the profile cannot go on (why)."""
        p = self.profile
        self._log.info(
            "profile starting",
            profile=p.name,
            url=display_url(p.base_url),
            environment=p.environment_key,
            contexts=",".join(p.evaluation_contexts),
        )
        ending: Ending | None = None
        try:
            # The recorder writes a shared (PostgreSQL) journal; other monitors only read it.
            options = {"journal_writer": True, **self._options}
            async with core.run_headless(p, record=True, **options) as (monitor, updates):
                self._started(monitor)
                reader = asyncio.create_task(self._read(monitor, updates))
                health = asyncio.create_task(self._watch_health(monitor))
                stopping = asyncio.create_task(self._stop.wait())
                try:
                    await asyncio.wait({reader, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (health, stopping):
                        await cancel_quietly(task)
                on_its_own = reader.done()
            # The block stopped the monitor: the journal is closed, the updates have ended.
            ending = await reader
            if on_its_own and ending is None:
                ending = Ending.FAILED  # the updates ended though nobody stopped the monitor
        except ConfigError as error:
            self._log.error("configuration error", profile=p.name, error=str(error))
            return Ending.CONFIGURATION
        except Exception as error:  # noqa: BLE001 - one profile's failure stops it alone
            self._log.error("profile failed", profile=p.name, error=_describe(error))
            return Ending.FAILED
        self._stopped(monitor.snapshot(), ending)
        return ending

    # --- start and stop -------------------------------------------------------------------

    def _started(self, monitor: Monitor) -> None:
        snap = monitor.snapshot()
        journal = monitor.journal
        self._log.info(
            "profile started",
            profile=self.name,
            recording=snap.recording,
            journal=_location(journal),
            flags=len(snap.values),
        )
        self._check_journal(snap)
        self._said = snap.notices
        for notice in snap.notices:
            self._log.warn("notice", profile=self.name, notice=notice)
        # From now on the scrape thread may read the monitor's published snapshot.
        self._collector.add(MetricSource(self.name, monitor.snapshot, self.counts))

    def _stopped(self, snap: MonitorSnapshot, ending: Ending | None) -> None:
        fields: dict[str, Any] = {
            "profile": self.name,
            "events": snap.counters.events,
            "journal_pending": snap.journal_pending,
            "journal_dropped": snap.journal_dropped,
        }
        if ending is not None:
            fields["reason"] = ending.value
        self._log.line("info" if ending is None else "error", "profile stopped", **fields)

    # --- the update stream ----------------------------------------------------------------

    async def _read(self, monitor: Monitor, updates: AsyncIterator[object]) -> Ending | None:
        """Count and log every update until the stream stops for good, or the updates end."""
        counts = self.counts
        async for update in updates:
            if isinstance(update, FlagEvent):
                counts.event(update.type, update.environment_id)
            elif isinstance(update, ValueUpdated):
                if update.value.error is not None:
                    # A failed answer marks the value errored (and stale, so no later event
                    # re-marks it): one update of this kind per failed evaluation.
                    counts.evaluate_error(update.value.context)
            elif isinstance(update, TransitionRecorded):
                counts.transition(update.transition.context)
            elif isinstance(update, Status):
                ending = self._status(monitor, update)
                if ending is not None:
                    return ending
            elif isinstance(update, Outage):
                counts.outage()
                self._outage(update)
            elif isinstance(update, OutageProven):
                self._log.info(
                    "outage proven",
                    profile=self.name,
                    started=iso_utc(update.outage.started_at),
                    ended=iso_utc(update.outage.ended_at),
                    may_have_missed=False,
                )
            elif isinstance(update, Malformed):
                self._log.warn(
                    "malformed event",
                    profile=self.name,
                    reason=update.reason,
                    event_id=update.event_id,
                    raw=update.raw[:RAW_SHOWN],
                )
            elif isinstance(update, PossibleGap):
                self._log.warn(
                    "possible gap",
                    profile=self.name,
                    flag=update.flag_key,
                    expected_version=update.expected_version,
                    got_version=update.got_version,
                )
            elif isinstance(update, EvaluatorStatus):
                self._evaluator(update)
            elif isinstance(update, RecordingTaken):  # it logged `not recording` at its start
                self._log.info("journal", profile=self.name, notice=RECORDING_TAKEN)
            elif isinstance(update, Noticed) and update.text not in self._said:
                self._log.warn("notice", profile=self.name, notice=update.text)
            elif isinstance(update, Dropped):
                # Where the log lacks lines (and the metrics counts): the reader fell behind.
                # What the updates keep through that (core/updates.py KEPT) is logged after it.
                self._log.warn(
                    "updates lost",
                    profile=self.name,
                    events=update.events,
                    other_updates=update.updates - update.events,
                )
        return None

    def _status(self, monitor: Monitor, status: Status) -> Ending | None:
        state = status.state
        fields: dict[str, Any] = {"profile": self.name, "state": state.value}
        if state is ConnectionState.RETRYING:
            fields["attempt"] = status.attempt
            if status.next_try_at is not None:
                fields["next_try_in"] = round(max(0.0, status.next_try_at - status.at), 3)
        if status.error:
            fields["error"] = status.error
        if state is not ConnectionState.STOPPED:
            level = "warn" if state is ConnectionState.RETRYING else "info"
            self._log.line(level, "stream state", **fields)
            return None
        self._log.error("stream state", **fields)
        if status.credentials_rejected:
            used = stream_credentials(self.profile)  # the one the stream sent
            self._log.error(
                "credentials rejected",
                profile=self.name,
                credential=mask_secret(used.api_key or used.token),
            )
            return Ending.CREDENTIALS
        if monitor.configuration_error is not None:
            self._log.error(
                "configuration error", profile=self.name, error=str(monitor.configuration_error)
            )
            return Ending.CONFIGURATION
        return Ending.FAILED

    def _outage(self, outage: Outage) -> None:
        self._log.warn(
            "outage",
            profile=self.name,
            started=iso_utc(outage.started_at),
            ended=iso_utc(outage.ended_at),
            seconds=round(outage.ended_at - outage.started_at, 3),
            replayed=outage.replayed,
            may_have_missed=outage.may_have_missed,
        )

    def _evaluator(self, status: EvaluatorStatus) -> None:
        if status.ok:
            if not self._evaluate_ok:
                self._log.info("evaluate ok", profile=self.name)
            self._evaluate_ok = True
            return
        self._evaluate_ok = False
        if status.credentials_rejected:
            self._log.error(
                "evaluate credentials rejected", profile=self.name, error=status.message
            )
        else:
            self._log.warn("evaluate failing", profile=self.name, error=status.message)

    # --- the journal's health -------------------------------------------------------------

    async def _watch_health(self, monitor: Monitor) -> None:
        while True:
            await asyncio.sleep(HEALTH_EVERY)
            self._check_journal(monitor.snapshot())

    def _check_journal(self, snap: MonitorSnapshot) -> None:
        """One line per new journal problem: a notice (not recording, moved aside), why a write
        failed, rows lost, updates the recorder read too late."""
        if snap.journal_notice != self._notice:
            self._notice = snap.journal_notice
            if snap.journal_notice:
                level = "warn" if snap.recording else "error"
                self._log.line(level, "journal", profile=self.name, notice=snap.journal_notice)
        if snap.journal_dropped > self._journal_dropped:
            # Why (a full disk, say), once per reason rather than with every drop. The snapshot
            # reads the error after the count, and the writer sets it before: it is this drop's.
            reason = (snap.journal_write_error or "").strip().splitlines()[:1]
            if reason and reason[0] != self._write_error:
                self._write_error = reason[0]
                self._log.error("journal", profile=self.name, error=reason[0])
            self._log.error("journal dropped rows", profile=self.name, dropped=snap.journal_dropped)
            self._journal_dropped = snap.journal_dropped
        if snap.dropped_updates > self._updates_dropped:
            self._log.warn("updates dropped", profile=self.name, dropped=snap.dropped_updates)
            self._updates_dropped = snap.dropped_updates


def _location(journal: object | None) -> str | None:
    """Where the journal is, fit to show: the store's `location` (a path, or a database URL
    with its password masked), or the `path` of a store that has no `location` yet."""
    if journal is None:
        return None
    where = getattr(journal, "location", None) or getattr(journal, "path", None)
    return str(where) if where else None


def _describe(error: BaseException) -> str:
    text = str(error)
    return safe_text(f"{type(error).__name__}: {text}" if text else type(error).__name__)


async def cancel_quietly(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
