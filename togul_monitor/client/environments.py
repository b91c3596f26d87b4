"""A project's environments and every environment's flags, for comparing environments.

`ProjectReader` is a `FlagReader` (client/management.py: one Bearer token, a 401 renewed once, a
network error or 5xx tried once more, at most `concurrency` connections) that also reads
`GET /api/v1/projects`, `GET /api/v1/projects/{id}/environments`, and the project's flags of
every environment in one `GET /api/v1/projects/{id}/flags` (each flag names its
`environment_id`; docs/management-api.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from togul_monitor.client.management import FlagReader, ManagementError, _flag_ids, _items
from togul_monitor.support.text import safe_text


@dataclass(frozen=True)
class Environment:
    environment_id: str
    key: str
    name: str


class NoSuchEnvironments(ManagementError):
    """No project visible to the token has every environment asked for (a usage error)."""


class ProjectReader(FlagReader):
    async def _list(self, path: str, name: str) -> list[dict[str, object]]:
        body = await self._get(path)
        if body is None:
            raise ManagementError(f"management API answered HTTP 404 for {path}", 404)
        return _items(body, name)

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

    async def flag_ids(self, environment_ids: list[str]) -> dict[str, dict[str, str]]:
        """Environment id → flag key → flag id, from one listing of the project's flags."""
        path = f"/api/v1/projects/{self.project_id}/flags"
        flags = await self._list(path, "flags")
        return {env_id: _flag_ids(flags, env_id) for env_id in environment_ids}
