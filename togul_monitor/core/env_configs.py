"""Every environment's flag configurations of a project, read for comparing environments.

`compare` (cli/compare.py) reads two environments once; the TUI's matrix (`c`) reads all of the
project's and then, as events arrive, reads again only the flags they name
(`reread_flags`). Reads go through `ProjectReader` (client/environments.py); at most
`concurrency` flags are fetched at once, on as many connections.

Tokens: a headless command owns its profile's token, so it may renew it after a 401
(`ProfileTokens`, which writes a rotated pair back to the profile file, as the monitor does).
The TUI's matrix must not: the running monitor owns the refresh token, and a second refresh would
kill the one the monitor holds (refresh tokens rotate). It sends the profile's token as is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from togul_monitor.client.environments import Environment, ProjectReader
from togul_monitor.client.management import Renew
from togul_monitor.config.entry import Profile
from togul_monitor.domain.flag_config import FlagConfig

CONCURRENCY = 8


@dataclass(frozen=True)
class ProjectConfigs:
    project_id: str
    environments: tuple[Environment, ...]  # the project's environments read, server's order
    configs: dict[str, dict[str, FlagConfig]]  # environment key → flag key → configuration
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # env key → flag key → id
    read_at: float = 0.0  # wall-clock time of the read (the matrix's header says it)

    def key_of(self, environment_id: str) -> str | None:
        for env in self.environments:
            if env.environment_id == environment_id:
                return env.key
        return None


def open_reader(
    profile: Profile, token: Callable[[], str] | None = None, renew: Renew | None = None
) -> ProjectReader:
    """A reader with the profile's token, or `token()` kept fresh by the caller's `renew`."""
    fixed = profile.token or ""
    current = token or (lambda: fixed)
    return ProjectReader(profile.base_url, "", current, renew=renew, concurrency=CONCURRENCY)


async def _fetch_all(
    reader: ProjectReader, wanted: Iterable[tuple[str, str, str]], concurrency: int
) -> list[tuple[str, str, FlagConfig | None]]:
    """(env key, flag key, config or None for a 404) for each (env key, flag key, flag id)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(env: str, key: str, flag_id: str) -> tuple[str, str, FlagConfig | None]:
        async with gate:
            return env, key, await reader.fetch_flag(flag_id)

    return list(await asyncio.gather(*(one(*item) for item in wanted)))


async def read_project(
    reader: ProjectReader,
    wanted: tuple[str, ...] = (),
    *,
    only: tuple[str, ...] | None = None,
    concurrency: int = CONCURRENCY,
    clock: Callable[[], float] = time.time,
) -> ProjectConfigs:
    """The configurations of the project that has every environment of `wanted`: of the
    environments in `only` (all of them when None)."""
    envs = await reader.find_project(wanted)
    chosen = tuple(e for e in envs if only is None or e.key in only)
    listed = await reader.flag_ids([e.environment_id for e in chosen])
    ids = {e.key: listed.get(e.environment_id, {}) for e in chosen}
    items = [(env, key, flag_id) for env, flags in ids.items() for key, flag_id in flags.items()]
    configs: dict[str, dict[str, FlagConfig]] = {e.key: {} for e in chosen}
    for env, key, config in await _fetch_all(reader, items, concurrency):
        if config is not None:  # deleted between the listing and the fetch
            configs[env][key] = config
    return ProjectConfigs(reader.project_id, chosen, configs, ids, clock())


async def reread_flags(
    reader: ProjectReader,
    project: ProjectConfigs,
    changed: Iterable[tuple[str, str | None]],
    *,
    concurrency: int = CONCURRENCY,
    clock: Callable[[], float] = time.time,
) -> ProjectConfigs:
    """`project` with the flags `changed` names read again: (flag key, environment id) pairs,
    an id None or of no known environment meaning every environment. One listing first: a flag
    created (no id yet) or deleted (gone from the list) is learnt from it."""
    targets: set[tuple[str, str]] = set()  # (env key, flag key)
    for flag_key, env_id in changed:
        env_key = project.key_of(env_id) if env_id is not None else None
        keys = [env_key] if env_key is not None else [e.key for e in project.environments]
        targets.update((env, flag_key) for env in keys)
    listed = await reader.flag_ids([e.environment_id for e in project.environments])
    ids = {e.key: listed.get(e.environment_id, {}) for e in project.environments}
    configs = {env: dict(flags) for env, flags in project.configs.items()}
    items = []
    for env, key in sorted(targets):
        configs.setdefault(env, {}).pop(key, None)
        flag_id = ids.get(env, {}).get(key)
        if flag_id is not None:
            items.append((env, key, flag_id))
    for env, key, config in await _fetch_all(reader, items, concurrency):
        if config is not None:
            configs[env][key] = config
    return ProjectConfigs(project.project_id, project.environments, configs, ids, clock())


def read_project_blocking(profile: Profile, wanted: tuple[str, ...] = ()) -> ProjectConfigs:
    """`read_project` on a loop of its own (the TUI's thread worker), without renewing."""

    async def run() -> ProjectConfigs:
        reader = open_reader(profile)
        try:
            return await read_project(reader, wanted)
        finally:
            await reader.aclose()

    return asyncio.run(run())


def reread_blocking(
    profile: Profile, project: ProjectConfigs, changed: Iterable[tuple[str, str | None]]
) -> ProjectConfigs:
    """`reread_flags` on a loop of its own (the TUI's thread worker), without renewing."""
    pairs = list(changed)

    async def run() -> ProjectConfigs:
        reader = open_reader(profile)
        try:
            reader.project_id = project.project_id
            return await reread_flags(reader, project, pairs)
        finally:
            await reader.aclose()

    return asyncio.run(run())
