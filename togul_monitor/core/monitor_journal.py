"""The journal a monitor records into (or only reads), handed to every part that records, and
its takeover: a SQLite journal another process records becomes this monitor's once that
process is gone (core/takeover.py).

Opening it is core/recording.py's; this keeps what came of it on the monitor's loop: the
journal the intake, the evaluations, the configurations and the environment names write to,
and what the status says of it (`notice`; `busy` while another process records the profile).

A reader that opened the journal on a mark too recent to judge (core/recording.py
`Opened.live_mark`: its recorder may have died just before) looks at the mark again once a
live recorder would have moved it (`_look_again`). Moved, its recorder watched on; not moved,
it had stopped watching there, and the window from the mark to this run's start is told late
(`RecorderStopped`, and the snapshot's `watched_until`), as the opening would have told it a
little later. Moved past this run's start, it was watched unless the journal says otherwise:
a recorder that did not watch journals an outage (core/watched.py `unwatched_since`), a
second recorder started since too, whose mark alone would read as the first one's.

A takeover ends the look: the journal is this monitor's from then on. Its gone recorder's
last mark says until when it watched: the time from there to this run's start, which nobody
watched, is journalled as an outage (as a resumed run's between the runs is) and told as the
look would have told it, unless the look did already (`unwatched_window`). A run whose stream
has not been live yet has not started watching: nobody watches until it is, so no window
closes at the takeover; the stream's first live connection has the outage from the mark
instead (core/intake.py `unwatched_from`), journalled and shown as any outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from togul_monitor.config.profiles import Profile
from togul_monitor.core.configs import FlagConfigs
from togul_monitor.core.contexts import ContextEvaluations
from togul_monitor.core.environment import Environments
from togul_monitor.core.intake import Intake
from togul_monitor.core.recording import (
    MARK_AHEAD_TOLERATED,
    Opened,
    close_aside,
    judged_mark,
    open_journal,
)
from togul_monitor.core.takeover import TAKEOVER_INTERVAL, Taken, Takeover, hand_over
from togul_monitor.core.updates import MonitorUpdate, RecorderStopped, RecordingTaken
from togul_monitor.core.watched import live_mark_due, unwatched_since
from togul_monitor.domain.events import Outage
from togul_monitor.store.journal import CLOSE_TIMEOUT, Journal, JournalError
from togul_monitor.store.reading import ReadingJournal

LOAD_EVENTS_AT_START = 10_000

#: Seconds between two looks at the clock while a recent mark waits to be judged: the mark is
#: dated by the monitor's clock, and the loop's own stands still while the machine sleeps.
LOOK_STEP = 1.0


class MonitorJournal:
    def __init__(
        self,
        intake: Intake,
        evaluations: ContextEvaluations,
        configs: FlagConfigs,
        environments: Environments,
        clock: Callable[[], float],
        *,
        publish: Callable[[MonitorUpdate], None],
        takeover_interval: float = TAKEOVER_INTERVAL,
    ) -> None:
        self._intake = intake
        self._evaluations = evaluations
        self._configs = configs
        self._environments = environments
        self._clock = clock
        self._publish = publish  # an update for the readers (a new snapshot with it)
        self._takeover_interval = takeover_interval
        self._takeover: Takeover | None = None
        self._look: asyncio.Task[None] | None = None  # at a recent mark again (`_look_again`)
        self.journal: Journal | None = None
        self.notice: str | None = None  # why it is not recording, or what happened to the file
        self.busy = False  # not recording because another process records the profile
        self.live_from = 0  # event-log position of this run's first row (earlier: the journal's)
        # The journal's mark when opened (core/watched.py); a recorder taken as live then
        # that turns out to have stopped: its mark (`_look_again`). Read as `watched_until_at`.
        self.watched_until: float | None = None
        self._watched_on = False  # its recorder taken as live, not found stopped (yet)
        self._stopped_told = False  # `RecorderStopped` published (once a run)

    async def open(
        self,
        profile: Profile,
        directory: Path | None,
        options: Mapping[str, Any],
        environment_id: str | None,
        org_wide: bool = False,
    ) -> Opened:
        """Open the profile's journal, preload the intake with what it remembers, and, when
        another process records it, start trying to take it over (and, on a recent mark, to
        look at it again). `org_wide`: the stream is a token's, of every environment."""
        load = min(self._intake.log.capacity, LOAD_EVENTS_AT_START)
        where = (profile.name, directory, self._clock, options, load)
        opened = await open_journal(
            *where,
            environment_id,
            profile.environment_key,
            heartbeat=profile.heartbeat_seconds,
            org_wide=org_wide,
        )
        self.journal = self._intake.journal = opened.journal
        self.notice, self.busy = opened.notice, opened.busy
        self.watched_until = opened.watched_until
        self._watched_on = opened.live_mark is not None and opened.watched_until is not None
        self._intake.preload(opened.rows(load), opened.changes, opened.resumed)
        self._configs.remembered.seed(opened.last_configs, self._configs.unseen, opened.dated)
        self.live_from = self._intake.log.end
        if opened.reopen is not None:
            self._takeover = Takeover(opened.reopen, self._take_over, self._takeover_interval)
            self._takeover.start()
        mark, within, until = opened.live_mark, opened.live_within, opened.watched_until
        if mark is not None and within is not None and until is not None:
            look = self._look_again(mark, within, until, profile.heartbeat_seconds)
            self._look = asyncio.get_running_loop().create_task(look, name="journal-mark")
        return opened

    async def _look_again(
        self, mark: float, within: float, opened_at: float, heartbeat: float
    ) -> None:
        """The recorder's `mark`, taken as live's at `opened_at`, read again once a live
        recorder would have moved it (core/watched.py `live_mark_due`: `within` the seconds it
        said it moves its mark within, core/recording.py `judged_mark`). Not moved: the
        recorder stopped watching there, and nobody watched until this run began. Moved, with
        an outage journalled since that reaches `opened_at` (`unwatched_since`: the recorder
        lost its stream, or another one started and journalled the time between the runs):
        nobody watched from its start. Moved, but still before `opened_at`: it may have
        stopped since (its stream lost, a last mark written), so the new mark is looked at
        again the same way."""
        journal = self.journal
        while mark < opened_at and journal is not None:
            due = live_mark_due(mark, heartbeat, within)
            while (left := due - self._clock()) > 0:
                await asyncio.sleep(min(left, LOOK_STEP))
            stopped = None
            try:
                judged = await asyncio.to_thread(judged_mark, journal, self._clock(), heartbeat)
                if judged is not None and judged[0] > mark:
                    outages = await asyncio.to_thread(journal.outages, opened_at)
                    stopped = unwatched_since(mark, opened_at, outages)
            except JournalError:
                return  # it cannot tell: as it was
            if judged is None:
                return  # a mark ahead of the clock (core/recording.py): not believed either way
            if stopped is not None or judged[0] <= mark:
                self._recorder_stopped(mark if stopped is None else stopped)
                return
            mark, within = judged

    def watched_until_at(self, now: float) -> float | None:
        """Until when earlier runs watched the stream, as a snapshot taken at `now` says it
        (`MonitorSnapshot.watched_until`). A recorder taken as live watches on: until `now`,
        not only until the opening, since this run's start is dated later than the opening
        as soon as its stream connects (the screen takes it from the status it attaches with,
        ui/view/rows.py `run_began`), and the time between was no window nobody watched."""
        return now if self._watched_on else self.watched_until

    def _recorder_stopped(self, watched_until: float) -> None:
        """Nobody watched from `watched_until` to this run's start: said once."""
        self.watched_until = watched_until
        self._watched_on = False
        if not self._stopped_told:
            self._stopped_told = True
            self._publish(RecorderStopped(watched_until))

    def use(self, journal: Journal | None) -> None:
        """Where everything the monitor records goes, from now on."""
        self.journal = self._intake.journal = self._configs.journal = journal
        self._evaluations.set_journal(journal)
        if journal is not None:
            self._environments.on_learnt = journal.set_environment_names
            if self._environments.names:
                journal.set_environment_names(self._environments.names)

    def _take_over(self, taken: Taken) -> None:
        """The busy journal's recorder has gone and this monitor holds its lock: what it saw
        that the journal lacks is journalled first, then it records and tells its readers so
        (`RecordingTaken`: `tail` and `record` say it)."""
        evaluations = self._evaluations
        memory, values = evaluations.memory.transitions, evaluations.value_sets
        read = self.journal
        diffs = read.found_diffs if isinstance(read, ReadingJournal) else ()
        log, now = self._intake.log, self._clock()
        self._stop_looking()  # this monitor's mark from now on: the mark read is no one's
        began = self._intake.watched.began
        unwatched = unwatched_window(taken, now, began)
        args = (taken, log, self.live_from, memory, values, now, diffs, unwatched)
        since = hand_over(*args, live=began is not None)
        if since is not None:  # never live yet: its first live connection's outage says it
            self._intake.unwatched_from(since)
        elif unwatched is not None:
            self._recorder_stopped(unwatched.started_at)
        self.use(taken.journal)
        self._evaluations.adopt_doubt(taken.held.doubted)  # after its values: core/doubt.py
        self._intake.watched.journal_changed()  # its mark is this monitor's from now on
        self.notice, self.busy = taken.journal.notice, False
        if read is not None:
            close_aside(read)
        self._publish(RecordingTaken(self._clock()))

    async def stop_trying(self) -> None:
        """Take nothing over, and look at no mark again, from now on (the monitor stops)."""
        look = self._look
        self._stop_looking()
        if look is not None:
            await asyncio.wait((look,))
        if self._takeover is not None:
            await self._takeover.aclose()

    def _stop_looking(self) -> None:
        if self._look is not None:
            self._look.cancel()
            self._look = None

    async def close(self) -> None:
        """Commit what is queued and close the journal (off the loop: it waits for the writer)."""
        if self.journal is not None:
            await asyncio.to_thread(self.journal.close, CLOSE_TIMEOUT)


def unwatched_window(taken: Taken, now: float, began: float | None) -> Outage | None:
    """The time nobody watched before this run, as the `taken` journal tells it: from its gone
    recorder's last mark (its last event, when later) to when this run began to watch
    (`began`; `now` when it has not yet, and the window goes on: core/takeover.py
    `hand_over`), marked as possibly missing changes; None when the mark reaches this run, or
    none is believed (an older program's journal has none; one ahead of `now`, a clock that
    ran ahead, is not dated from)."""
    mark = taken.mark
    if mark is None or mark > now + MARK_AHEAD_TOLERATED:
        return None
    since = mark if taken.last is None else max(mark, taken.last.received_at)
    start = now if began is None else began
    return Outage(since, start, None, True, start) if since < start else None
