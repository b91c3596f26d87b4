"""The few management-API reads the monitor needs, with the profile's Bearer token.

With an organization token the stream carries every environment's events, so the monitor must
learn which environment id is the profile's (to evaluate only its flags) and may list that
environment's flags to monitor all of them. Shapes (docs/protocol.md, the management API):
`GET /api/v1/projects` → `{projects: [...]}`, `GET /api/v1/projects/{id}/environments` →
`{environments: [...]}`, `GET /api/v1/projects/{id}/flags` → `{flags: [...]}` (every
environment of the project; each flag names its `environment_id`).

A failure is a `ManagementError` with a secret-free message and the HTTP status (the monitor
refreshes an expired token once on a 401, then falls back: core/plan.py); an answer that lists
no environment of that key is `EnvironmentNotFound`, a fact rather than a failure (the monitor
refuses to start: the profile names an environment the token's organisation does not have).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from togul_monitor.support.text import safe_text


class ManagementError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of the failed request (None: no answer)


class EnvironmentNotFound(ManagementError):
    def __init__(self, environment_key: str, known: tuple[str, ...]) -> None:
        shown = ", ".join(repr(safe_text(k)) for k in known) or "none"
        super().__init__(
            f"no environment with key {safe_text(environment_key)!r} is visible to the token "
            f"(it sees: {shown})"
        )
        self.known = known


@dataclass(frozen=True)
class EnvironmentInfo:
    environment_id: str
    environment_key: str
    project_id: str
    flag_keys: tuple[str, ...]
    names: dict[str, str]  # every environment id seen → its key (for `env:` filters)


def _items(body: object, name: str) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        body = body.get(name)
    if not isinstance(body, list):
        raise ManagementError(f"unexpected response shape (no {name!r} list)")
    return [item for item in body if isinstance(item, dict)]


async def _get(client: httpx.AsyncClient, path: str, name: str) -> list[dict[str, Any]]:
    try:
        response = await client.get(path)
    except httpx.HTTPError as exc:
        raise ManagementError(f"management API unreachable: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise ManagementError(
            f"management API answered HTTP {response.status_code} for {path}", response.status_code
        )
    try:
        body = response.json()
    except ValueError:
        raise ManagementError(f"management API sent non-JSON for {path}") from None
    return _items(body, name)


async def lookup_environment(
    base_url: str,
    token: str,
    environment_key: str,
    *,
    timeout: float = 5.0,
    verify: bool = True,
) -> EnvironmentInfo:
    """Find the environment with key `environment_key` and list its flags."""
    async with httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=timeout,
        verify=verify,
    ) as client:
        names: dict[str, str] = {}
        found: tuple[str, str] | None = None
        for project in await _get(client, "/api/v1/projects", "projects"):
            project_id = str(project.get("id", ""))
            if not project_id:
                continue
            envs = await _get(client, f"/api/v1/projects/{project_id}/environments", "environments")
            for env in envs:
                env_id, key = env.get("id"), env.get("key")
                if isinstance(env_id, str) and isinstance(key, str):
                    names[env_id] = key
                    if key == environment_key and found is None:
                        found = (env_id, project_id)
        if found is None:
            raise EnvironmentNotFound(environment_key, tuple(dict.fromkeys(names.values())))
        env_id, project_id = found
        flags = await _get(client, f"/api/v1/projects/{project_id}/flags", "flags")
        keys = tuple(
            sorted(
                {
                    f["key"]
                    for f in flags
                    if isinstance(f.get("key"), str) and f.get("environment_id") == env_id
                }
            )
        )
        return EnvironmentInfo(env_id, environment_key, project_id, keys, names)
