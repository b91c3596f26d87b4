"""A profile whose heartbeat is shorter than the server's: every quiet spell longer than three
of the profile's heartbeats ends the stream by the read timeout, and the failure says why, and
what to change. A stream whose heartbeats came, and then stopped, is a stall: no hint. Against
the emulator over loopback (its heartbeat set per test)."""

from __future__ import annotations

from togul_monitor.config.profiles import Profile
from togul_monitor.core import Monitor
from togul_monitor.core.stream_factory import silence_hint
from togul_monitor.domain.events import ConnectionState, Heartbeat, Status
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

from .test_monitor import Recorder, make_profile, wait_for

HINT = (
    "no heartbeat came: the read timeout, 1 s (3 x heartbeat_seconds), is shorter than Togul's "
    "heartbeat interval, 30 s"
)


async def _first_failure(emu: EmulatorHandle, stall: float = 0.0) -> tuple[str, Recorder]:
    monitor = Monitor(make_profile(emu, heartbeat_seconds=0.3), record=False)
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    try:
        if stall:
            await wait_for(lambda: recorder.of(Heartbeat), what="a heartbeat")
            emu.faults.stall(stall)

        def failures() -> list[Status]:
            statuses = recorder.of(Status)
            return [s for s in statuses if s.state is ConnectionState.RETRYING]

        await wait_for(failures, what="the read timeout")
        return failures()[0].error or "", recorder
    finally:
        await monitor.stop()


def test_the_hint_is_for_read_timeouts_shorter_than_togul_heartbeat_only() -> None:
    def profile(heartbeat: float, builtin: bool = False) -> Profile:
        return Profile(
            "p", "http://127.0.0.1:9", "production", heartbeat_seconds=heartbeat, builtin=builtin
        )

    assert silence_hint(profile(0.3)) == HINT
    assert "read timeout, 27 s" in silence_hint(profile(9.0))
    # From 10 s on, Togul's heartbeat comes in time: no heartbeat then is a stall.
    assert silence_hint(profile(10.0)) == silence_hint(profile(30.0)) == ""
    assert silence_hint(profile(5.0, builtin=True)) == ""  # the demo's emulator beats at 5 s


async def test_a_server_whose_heartbeat_is_longer_than_the_profiles_is_said_so() -> None:
    with running_emulator(seed=0, heartbeat=60.0) as emu:  # none comes during the test
        error, _ = await _first_failure(emu)
    assert error == f"no data for 1 s (read timeout); {HINT}"


async def test_a_stall_after_heartbeats_came_gets_no_hint(emulator: EmulatorHandle) -> None:
    error, _ = await _first_failure(emulator, stall=2.0)
    assert error == "no data for 1 s (read timeout)"
