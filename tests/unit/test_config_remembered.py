"""A flag's first read in a run is compared with the configuration the journal remembers of it
(core/config_memory.py): a change made while nobody watched is a diff, of the replayed event
whose version the answer is, else found on a re-fetch; a first snapshot only when the journal
knows nothing of the flag. The journal's copy is written when it changes, never per event."""

from __future__ import annotations

from typing import Any

import msgspec

from togul_monitor.core.configs import FlagConfigs
from togul_monitor.core.updates import ConfigChanged, MonitorUpdate
from togul_monitor.domain.flag_config import FlagConfig

from ..waits import until
from .test_config_unseen import Reader, SlowFirst, config, event


class Kept:
    """The journal's `set_last_config` calls (the only write these paths make)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, FlagConfig | None]] = []

    def set_last_config(self, env: str, key: str, cfg: FlagConfig | None, at: float) -> None:
        self.rows.append((key, cfg))

    def append_config_diff(self, *args: Any) -> None:
        pass


def remembering(
    reader: Reader, known: FlagConfig | None, *, dated: bool = False
) -> tuple[FlagConfigs, list[MonitorUpdate], Kept]:
    updates: list[MonitorUpdate] = []
    configs, kept = FlagConfigs(updates.append, lambda: 0.0), Kept()
    configs.journal = kept  # type: ignore[assignment]
    configs.remembered.seed({} if known is None else {"k": known}, configs.unseen, dated)
    configs.configure(reader, "env", {"k": "id-k"})  # type: ignore[arg-type]
    configs.start()
    return configs, updates, kept


async def test_a_change_made_while_nobody_watched_is_found_by_the_first_read() -> None:
    reader = Reader()
    reader.current = config(3, enabled=False)
    configs, updates, kept = remembering(reader, config(1, enabled=True))
    await until(lambda: configs.state == "complete" and updates)
    (changed,) = updates
    assert isinstance(changed, ConfigChanged) and changed.event is None
    diff = changed.diff
    assert not diff.first_seen and diff.found_by_refetch and diff.fetched_version == 3
    assert [(c.path, c.before, c.after) for c in diff.changes] == [("enabled", True, False)]
    assert kept.rows == [("k", reader.current)]  # the journal's copy follows
    await configs.aclose()


async def test_the_replayed_event_of_the_answers_version_gets_the_diff() -> None:
    reader = SlowFirst()
    reader.current = config(3, enabled=False)
    configs, updates, _ = remembering(reader, config(1, enabled=True))
    await until(lambda: reader.fetches == 1)
    configs.on_events([event(3)])  # replayed before the first read answers
    reader.release.set()
    await until(lambda: updates)
    (changed,) = updates
    assert isinstance(changed, ConfigChanged) and changed.event == event(3)
    assert not changed.diff.first_seen and [c.path for c in changed.diff.changes] == ["enabled"]
    # Not proved whole (no journal mark to date it, no proof): it may hold unseen changes.
    assert changed.diff.includes_unseen
    await configs.aclose()


async def test_a_remembered_configuration_proved_current_is_marked_no_more() -> None:
    reader = SlowFirst()
    reader.current = config(3, enabled=False)
    configs, updates, _ = remembering(reader, config(1, enabled=True), dated=True)
    await until(lambda: reader.fetches == 1)
    configs.unseen.unmark_remembered()  # the replay proved the time between the runs whole
    configs.on_events([event(3)])
    reader.release.set()
    await until(lambda: updates)
    assert isinstance(updates[0], ConfigChanged) and not updates[0].diff.includes_unseen
    await configs.aclose()


async def test_unchanged_says_and_writes_nothing_and_unknown_is_a_first_read() -> None:
    reader = Reader()
    configs, updates, kept = remembering(reader, reader.current)
    await until(lambda: configs.state == "complete" and configs.idle())
    assert updates == [] and kept.rows == []
    await configs.aclose()
    # Another flag of the key (deleted and created again meanwhile) is not compared with.
    other = msgspec.structs.replace(config(1, enabled=False), flag_id="id-before")
    configs, updates, kept = remembering(Reader(), other)
    await until(lambda: configs.state == "complete" and kept.rows)
    assert updates == [] and kept.rows == [("k", reader.current)]
    await configs.aclose()
