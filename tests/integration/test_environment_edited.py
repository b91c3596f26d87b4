"""A profile edited from one environment to another keeps its journal (one per profile name):
what the journal remembers of the earlier environment is no "before" of the new one's values.
Against the emulator over loopback."""

from __future__ import annotations

from togul_monitor.core import Monitor
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.files import journal_path
from togul_monitor.store.journal import Journal

from .test_monitor import make_profile, settled, wait_for


async def test_the_first_run_in_another_environment_finds_no_change_of_the_earlier_ones_values(
    emulator: EmulatorHandle,
) -> None:
    """Staging's last values were kept; the profile now watches production, whose value of the
    flag differs: its first answer is a first value, not a change found on re-evaluation."""
    flag = "new-dashboard"
    emulator.world.update_flag("staging", flag, enabled=False)
    emulator.world.update_flag("production", flag, enabled=True)
    staging = make_profile(
        emulator,
        environment_key="staging",
        api_key=emulator.credentials.keys["staging"]["sdk"],
    )
    monitor = Monitor(staging)
    await monitor.start()
    try:
        await wait_for(lambda: settled(monitor, flag), what="staging's value")
    finally:
        await monitor.stop()
    monitor = Monitor(make_profile(emulator))  # edited: production's key and environment
    await monitor.start()
    try:
        await wait_for(lambda: settled(monitor, flag), what="production's value")
        assert monitor.values()[flag].current is not None
    finally:
        await monitor.stop()
    journal = Journal.open(journal_path("test"))
    try:
        assert list(journal.iter_transitions()) == []  # it recorded staging → production
        assert journal.last_values()["default"][flag].environment_key == "production"
    finally:
        journal.close()
