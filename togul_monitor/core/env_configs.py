"""Every environment's flag configurations of a project, read for comparing environments.

`compare` (cli/compare.py) reads two environments once; the TUI's matrix (`c`) reads all of the
project's and then reads again only what changed: as events arrive, the flags they name
(`reread_flags`); now and then, after one listing of the project's flags, the flags whose
listing entry (`version`, `updated_at`) moved since they were read (`check_project`). Reads go
through `ProjectReader` (client/environments.py); at most `concurrency` flags are fetched at
once, on as many connections. Flag keys come from the server: at most `max_flags` (the
profile's) flags of each environment are read, the first the listing names; `capped` says
which environments have more.

Tokens: a headless command owns its profile's token, so it may renew it after a 401
(`ProfileTokens`, which writes a rotated pair back to the profile file, as the monitor does).
The TUI's matrix must not: the running monitor owns the refresh token, and a second refresh would
kill the one the monitor holds (refresh tokens rotate). It sends the profile's token as is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

import msgspec

from togul_monitor.client.environments import Environment, Listed, ProjectReader, Stamp
from togul_monitor.client.management import Renew
from togul_monitor.config.entry import DEFAULT_MAX_FLAGS, Profile
from togul_monitor.domain.flag_config import FlagConfig

CONCURRENCY = 8


class ProjectConfigs(msgspec.Struct, frozen=True):
    project_id: str
    environments: tuple[Environment, ...]  # the project's environments read, server's order
    configs: dict[str, dict[str, FlagConfig]]  # environment key → flag key → configuration
    ids: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)  # env key → flag key → id
    read_at: float = 0.0  # wall-clock time of the read (the matrix's header says it)
    # env key → flag key → the listing's stamp of the configuration read (`check_project`)
    stamps: dict[str, dict[str, Stamp]] = msgspec.field(default_factory=dict)
    capped: tuple[str, ...] = ()  # environments (keys) with more flags than `max_flags`

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


async def _listed(
    reader: ProjectReader, envs: tuple[Environment, ...], max_flags: int
) -> tuple[dict[str, dict[str, Listed]], tuple[str, ...]]:
    """One listing: env key → flag key → id and stamp (at most `max_flags` flags of each
    environment), and the environments that have more."""
    listing = await reader.listing([e.environment_id for e in envs], max(1, max_flags))
    listed = {e.key: listing.flags.get(e.environment_id, {}) for e in envs}
    return listed, tuple(e.key for e in envs if e.environment_id in listing.capped)


async def _read(
    reader: ProjectReader,
    old: ProjectConfigs | None,
    envs: tuple[Environment, ...],
    max_flags: int,
    fetch: Callable[[str, str, Listed], bool],
    concurrency: int,
    clock: Callable[[], float],
) -> ProjectConfigs:
    """One listing, then the listed flags `fetch` picks (env key, flag key, listing entry) read
    again; the other listed flags keep what `old` holds; a flag no longer listed goes."""
    listed, capped = await _listed(reader, envs, max_flags)
    configs: dict[str, dict[str, FlagConfig]] = {}
    stamps: dict[str, dict[str, Stamp]] = {}
    items = []
    for env, flags in listed.items():
        had = old.configs.get(env, {}) if old is not None else {}
        had_stamps = old.stamps.get(env, {}) if old is not None else {}
        configs[env], stamps[env] = {}, {}
        for key, entry in flags.items():
            if fetch(env, key, entry):
                items.append((env, key, entry.flag_id))
            elif key in had:
                configs[env][key] = had[key]
                stamps[env][key] = had_stamps.get(key)
    for env, key, config in await _fetch_all(reader, items, concurrency):
        if config is not None:  # None: deleted between the listing and the fetch
            configs[env][key] = config
            stamps[env][key] = listed[env][key].stamp
    ids = {
        env: {key: entry.flag_id for key, entry in flags.items()} for env, flags in listed.items()
    }
    return ProjectConfigs(reader.project_id, envs, configs, ids, clock(), stamps, capped)


async def read_project(
    reader: ProjectReader,
    wanted: tuple[str, ...] = (),
    *,
    only: tuple[str, ...] | None = None,
    concurrency: int = CONCURRENCY,
    clock: Callable[[], float] = time.time,
    max_flags: int = DEFAULT_MAX_FLAGS,
) -> ProjectConfigs:
    """The configurations of the project that has every environment of `wanted`: of the
    environments in `only` (all of them when None), at most `max_flags` flags of each."""
    envs = await reader.find_project(wanted)
    chosen = tuple(e for e in envs if only is None or e.key in only)
    return await _read(reader, None, chosen, max_flags, lambda *_: True, concurrency, clock)


async def reread_flags(
    reader: ProjectReader,
    project: ProjectConfigs,
    changed: Iterable[tuple[str, str | None]],
    *,
    concurrency: int = CONCURRENCY,
    clock: Callable[[], float] = time.time,
    max_flags: int = DEFAULT_MAX_FLAGS,
) -> ProjectConfigs:
    """`project` with the flags `changed` names read again: (flag key, environment id) pairs,
    an id None or of no known environment meaning every environment. One listing first: a flag
    created (no id yet) or deleted (gone from the list) is learnt from it."""
    targets: set[tuple[str, str]] = set()  # (env key, flag key)
    for flag_key, env_id in changed:
        env_key = project.key_of(env_id) if env_id is not None else None
        keys = [env_key] if env_key is not None else [e.key for e in project.environments]
        targets.update((env, flag_key) for env in keys)

    def named(env: str, key: str, entry: Listed) -> bool:
        return (env, key) in targets

    envs = project.environments
    return await _read(reader, project, envs, max_flags, named, concurrency, clock)


async def check_project(
    reader: ProjectReader,
    project: ProjectConfigs,
    *,
    concurrency: int = CONCURRENCY,
    clock: Callable[[], float] = time.time,
    max_flags: int = DEFAULT_MAX_FLAGS,
) -> ProjectConfigs:
    """`project` brought up to date at the cost of one listing: only the flags whose listing
    entry (version, `updated_at`) moved since they were read, or that were not read, are read
    again. A listing without either field tells no change apart: its flags wait for a read of
    everything (`read_project`)."""

    def moved(env: str, key: str, entry: Listed) -> bool:
        if key not in project.configs.get(env, {}):
            return True
        return entry.stamp != project.stamps.get(env, {}).get(key, entry.stamp)

    envs = project.environments
    return await _read(reader, project, envs, max_flags, moved, concurrency, clock)


def _blocking(
    profile: Profile, read: Callable[[ProjectReader], Awaitable[ProjectConfigs]], project_id: str
) -> ProjectConfigs:
    """`read` on a loop of its own (the TUI's thread worker), without renewing."""

    async def run() -> ProjectConfigs:
        reader = open_reader(profile)
        try:
            reader.project_id = project_id
            return await read(reader)
        finally:
            await reader.aclose()

    return asyncio.run(run())


def read_project_blocking(
    profile: Profile, wanted: tuple[str, ...] = (), *, clock: Callable[[], float] = time.time
) -> ProjectConfigs:
    """`read_project` of at most the profile's `max_flags` flags per environment."""
    limit = profile.max_flags
    return _blocking(
        profile,
        lambda reader: read_project(reader, wanted, max_flags=limit, clock=clock),
        "",
    )


def reread_blocking(
    profile: Profile,
    project: ProjectConfigs,
    changed: Iterable[tuple[str, str | None]],
    *,
    clock: Callable[[], float] = time.time,
) -> ProjectConfigs:
    """`reread_flags`, at most the profile's `max_flags` flags per environment."""
    pairs, limit = list(changed), profile.max_flags

    def read(reader: ProjectReader) -> Awaitable[ProjectConfigs]:
        return reread_flags(reader, project, pairs, max_flags=limit, clock=clock)

    return _blocking(profile, read, project.project_id)


def check_blocking(
    profile: Profile, project: ProjectConfigs, *, clock: Callable[[], float] = time.time
) -> ProjectConfigs:
    """`check_project`, at most the profile's `max_flags` flags per environment."""
    limit = profile.max_flags

    def read(reader: ProjectReader) -> Awaitable[ProjectConfigs]:
        return check_project(reader, project, max_flags=limit, clock=clock)

    return _blocking(profile, read, project.project_id)
