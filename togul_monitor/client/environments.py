"""A project's environments and every environment's flags, for comparing environments.

`ProjectReader` is a `FlagReader` (client/management.py: one Bearer token, a 401 renewed once, a
network error or 5xx tried once more, at most `concurrency` connections) that also reads
`GET /api/v1/projects`, `GET /api/v1/projects/{id}/environments`, and the project's flags of
every environment in one `GET /api/v1/projects/{id}/flags` (each flag names its
`environment_id`; docs/management-api.md). A listed flag carries its `version` (an emulator
extension) and `updated_at`: its `stamp`, which moves when the flag changes, so a reader that
kept the stamps re-fetches only the flags whose stamp moved.
"""

from __future__ import annotations

from typing import Any

import msgspec

from togul_monitor.client.management import FlagReader, ManagementError, items_of
from togul_monitor.support.text import safe_text


class Environment(msgspec.Struct, frozen=True):
    environment_id: str
    key: str
    name: str


#: What a flag's listing entry says of its last change: (`version`, `updated_at`), None when it
#: says neither (nothing then tells a changed flag from an unchanged one).
Stamp = tuple[int | None, str | None] | None


class Listed(msgspec.Struct, frozen=True):
    flag_id: str
    stamp: Stamp


class Listing(msgspec.Struct, frozen=True):
    """Environment id → flag key → its id and stamp: the first `limit` flags of each, in the
    server's order; `capped`: the environments that listed more."""

    flags: dict[str, dict[str, Listed]]
    capped: frozenset[str]


def _stamp(flag: dict[str, Any]) -> Stamp:
    version, updated = flag.get("version"), flag.get("updated_at")
    version = version if isinstance(version, int) and not isinstance(version, bool) else None
    updated = updated[:64] if isinstance(updated, str) else None
    return None if version is None and updated is None else (version, updated)


class NoSuchEnvironments(ManagementError):
    """No project visible to the token has every environment asked for (a usage error)."""


class ProjectReader(FlagReader):
    async def _list(self, path: str, name: str) -> list[dict[str, object]]:
        body = await self._get(path)
        if body is None:
            raise ManagementError(f"management API answered HTTP 404 for {path}", 404)
        return items_of(body, name)

    async def environments(self, project_id: str) -> list[Environment]:
        path = f"/api/v1/projects/{project_id}/environments"
        found = []
        for env in await self._list(path, "environments"):
            env_id, key, name = env.get("id"), env.get("key"), env.get("name")
            if isinstance(env_id, str) and isinstance(key, str):
                found.append(Environment(env_id, key, name if isinstance(name, str) else key))
        return found

    async def find_project(self, wanted: tuple[str, ...]) -> list[Environment]:
        """The environments of the first project that has every key of `wanted` (all of the
        first project's when `wanted` is empty); sets `project_id` to it."""
        seen: list[str] = []
        for project in await self._list("/api/v1/projects", "projects"):
            project_id = project.get("id")
            if not isinstance(project_id, str) or not project_id:
                continue
            envs = await self.environments(project_id)
            keys = {env.key for env in envs}
            seen.extend(env.key for env in envs)
            if all(key in keys for key in wanted):
                self.project_id = project_id
                return envs
        shown = ", ".join(repr(safe_text(k)) for k in dict.fromkeys(seen)) or "none"
        asked = ", ".join(repr(safe_text(k)) for k in wanted)
        raise NoSuchEnvironments(
            f"no project visible to the token has the environments {asked} (it sees: {shown})"
        )

    async def listing(self, environment_ids: list[str], limit: int) -> Listing:
        """One listing of the project's flags: at most `limit` flags of each environment."""
        path = f"/api/v1/projects/{self.project_id}/flags"
        wanted = set(environment_ids)
        flags: dict[str, dict[str, Listed]] = {env_id: {} for env_id in environment_ids}
        capped: set[str] = set()
        for flag in await self._list(path, "flags"):
            env_id, key, flag_id = flag.get("environment_id"), flag.get("key"), flag.get("id")
            if not isinstance(env_id, str) or env_id not in wanted:
                continue
            if not isinstance(key, str) or not isinstance(flag_id, str):
                continue
            listed = flags[env_id]
            if key not in listed and len(listed) >= limit:
                capped.add(env_id)
                continue
            listed[key] = Listed(flag_id, _stamp(flag))
        return Listing(flags, frozenset(capped))
