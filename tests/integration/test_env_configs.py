"""What the environment matrix's reads cost (core/env_configs.py): at most `max_flags` flags of
each environment, and a check after one listing fetches only the flags whose listing entry
(`version`, `updated_at`) moved, not every flag of every environment again."""

from __future__ import annotations

from togul_monitor.config.profiles import Profile
from togul_monitor.core.env_configs import check_project, open_reader, read_project
from togul_monitor.emulator.harness import EmulatorHandle

CAP = 5


def fetches(emulator: EmulatorHandle, project_id: str) -> tuple[int, int]:
    """(listings, single-flag fetches) the emulator answered so far."""
    prefix = f"/api/v1/projects/{project_id}/flags"
    listings = emulator.requests.count("GET", prefix) - emulator.requests.count("GET", prefix + "/")
    return listings, emulator.requests.count("GET", prefix + "/")


async def test_reads_are_capped_and_a_check_fetches_only_what_moved(
    emulator: EmulatorHandle,
) -> None:
    profile = Profile("t", emulator.base_url, "production", token=emulator.credentials.org_token)
    reader = open_reader(profile)
    try:
        project = await read_project(reader, max_flags=CAP)
        envs = len(project.environments)
        assert envs >= 2
        assert all(len(flags) == CAP for flags in project.configs.values())
        assert set(project.capped) == {e.key for e in project.environments}
        assert fetches(emulator, project.project_id) == (1, CAP * envs)

        # Nothing changed: one listing, no flag fetched.
        project = await check_project(reader, project, max_flags=CAP)
        assert fetches(emulator, project.project_id) == (2, CAP * envs)

        # A change of a read flag's switch, and of another's rule, in one environment: those
        # two are fetched, and show the change; a flag beyond the cap is never fetched.
        staging = project.configs["staging"]
        first, second = sorted(staging)[:2]
        emulator.world.update_flag("staging", first, enabled=not staging[first].enabled)
        if staging[second].rules:
            emulator.world.update_rule("staging", second, None, is_active=False)
        else:
            emulator.world.update_flag("staging", second, description="moved")
        beyond = sorted(f.key for f in emulator.world.list_flags("staging"))[-1]
        assert beyond not in staging
        emulator.world.update_flag("staging", beyond, enabled=True)
        project = await check_project(reader, project, max_flags=CAP)
        assert fetches(emulator, project.project_id) == (3, CAP * envs + 2)
        assert project.configs["staging"][first].enabled is not staging[first].enabled
        assert beyond not in project.configs["staging"]
    finally:
        await reader.aclose()
