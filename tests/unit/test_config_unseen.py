"""A configuration diff the stream may not have shown in full says so (core/configs.py): after an
outage that did not prove continuity, the next diff of each flag may hold changes whose events
were lost, whichever event it is tied to. An in-process reader: this is about tying, not HTTP."""

from __future__ import annotations

import asyncio

from togul_monitor.core.configs import FlagConfigs
from togul_monitor.core.updates import ConfigChanged, MonitorUpdate
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import FlagConfig, change_lines, describe, parse_flag, summary

from ..waits import until


def config(version: int, *, enabled: bool, name: str = "k") -> FlagConfig:
    flag = {"id": "id-k", "key": "k", "environment_id": "env", "enabled": enabled, "name": name}
    flag |= {"value_type": "boolean", "default_value": False, "version": version}
    return parse_flag({"flag": flag, "rules": []})


class Reader:
    requests = 0

    def __init__(self) -> None:
        self.current = config(1, enabled=True)

    async def fetch_flag(self, flag_id: str) -> FlagConfig:
        return self.current

    async def list_flags(self, environment_id: str) -> dict[str, str]:
        return {"k": "id-k"}

    async def aclose(self) -> None:
        pass


def started(reader: Reader, settle: float = 0.01) -> tuple[FlagConfigs, list[MonitorUpdate]]:
    """Configurations of flag k read through `reader`, started: the first load is running."""
    updates: list[MonitorUpdate] = []
    configs = FlagConfigs(updates.append, lambda: 0.0)
    configs.configure(reader, "env", {"k": "id-k"}, settle=settle)  # type: ignore[arg-type]
    configs.start()
    return configs, updates


def event(version: int) -> FlagEvent:
    return FlagEvent("flag.updated", "k", "env", version, 1, str(version), 1.0)


async def test_a_diff_after_a_lossy_outage_is_marked_on_the_event_it_is_tied_to() -> None:
    reader = Reader()
    # A long settle: the event below comes while the re-fetch the outage asked for still waits.
    configs, updates = started(reader, settle=0.3)
    await until(lambda: configs.state == "complete")
    reader.current = config(3, enabled=False, name="renamed")  # v2, switched off, was missed
    configs.mark_unseen()  # an outage that may have lost events
    configs.refetch_all()
    configs.on_events([event(3)])  # renamed: the event the stream did show
    await until(lambda: updates)
    (changed,) = updates
    assert isinstance(changed, ConfigChanged) and changed.event == event(3)
    diff = changed.diff
    assert diff.includes_unseen and {c.path for c in diff.changes} == {"enabled", "name"}
    assert summary(diff).endswith(" · +unseen")
    note = "(may include changes the stream did not show)"
    assert describe(diff)[-1] == note and change_lines(diff)[-1] == note
    # Seen from here on: the next diff is its event's alone.
    reader.current = config(4, enabled=True, name="renamed")
    configs.on_events([event(4)])
    await until(lambda: len(updates) == 2)
    assert isinstance(updates[1], ConfigChanged) and not updates[1].diff.includes_unseen
    assert note not in change_lines(updates[1].diff)
    await configs.aclose()


async def test_a_possible_gap_marks_only_its_flags_next_diff() -> None:
    reader = Reader()
    configs, updates = started(reader)
    await until(lambda: configs.state == "complete")
    configs.mark_unseen(["k", "never-listed"])  # a flag it does not follow is not kept
    reader.current = config(3, enabled=False)  # v2 lost, v3 received
    configs.on_events([event(3)])
    await until(lambda: updates)
    (changed,) = updates
    assert isinstance(changed, ConfigChanged) and changed.diff.includes_unseen
    await configs.aclose()


class SlowFirst(Reader):
    """The first fetch waits for the test; later ones answer at once."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.fetches = 0

    async def fetch_flag(self, flag_id: str) -> FlagConfig:
        self.fetches += 1
        if self.fetches == 1:
            await self.release.wait()
        return self.current


async def test_a_flag_without_a_snapshot_yet_is_not_marked() -> None:
    """An outage during the first load: the flag's first snapshot is taken after it (nothing
    to diff from before), so its later diffs are its events' alone."""
    reader = SlowFirst()
    configs, updates = started(reader)
    await until(lambda: reader.fetches == 1)
    configs.mark_unseen()  # an outage that may have lost events
    configs.refetch_all()
    reader.release.set()
    await until(lambda: configs.state == "complete" and configs.idle())
    reader.current = config(2, enabled=False)
    configs.on_events([event(2)])
    await until(lambda: updates)
    (changed,) = updates
    assert isinstance(changed, ConfigChanged) and not changed.diff.includes_unseen
    await configs.aclose()


async def test_a_diff_found_while_the_stream_is_blind_is_marked() -> None:
    reader = Reader()
    configs, updates = started(reader)
    await until(lambda: configs.state == "complete")
    configs.blind = True  # the stream dropped after the event below came
    reader.current = config(2, enabled=False)
    configs.on_events([event(2)])
    await until(lambda: updates)
    assert isinstance(updates[0], ConfigChanged) and updates[0].diff.includes_unseen
    configs.blind = False
    reader.current = config(4, enabled=True)
    configs.on_events([event(4)])
    await until(lambda: len(updates) == 2)
    assert isinstance(updates[1], ConfigChanged) and not updates[1].diff.includes_unseen
    await configs.aclose()


async def test_a_fetch_that_asked_nothing_does_not_say_diffs_resumed() -> None:
    # A flag whose id is not known yet is not asked: that is no answer of the server's, and
    # must not clear the note that a refused token stopped the diffs.
    from togul_monitor.core.config_fetch import Fetched

    configs, _ = started(Reader())
    await until(lambda: configs.state == "complete")
    configs._halt("management API answered HTTP 401")
    configs.refusal.halted = False  # a re-fetch of everything tries once more
    configs._on_answer("new-flag", None, Fetched(None, asked=False), False)
    assert configs.refusal.stopped is not None
    configs._on_answer("k", None, Fetched(config(2, enabled=True)), False)
    assert configs.refusal.stopped is None  # a real answer: the server took the token
    await configs.aclose()
