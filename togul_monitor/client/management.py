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

`FlagReader` reads flag configurations for the configuration diffs (core/configs.py): one
environment's flags (`GET /api/v1/projects/{id}/flags?environment_id=…`, filtered here too, since
a server may ignore the parameter) and one flag with its rules (`GET …/flags/{flag_id}` →
`{flag, rules}`). Its connection pool holds at most `concurrency` connections: the initial load
of thousands of flags queues on them instead of opening thousands of sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec

from togul_monitor.client.http import network_failure
from togul_monitor.client.tls import trust_env_for, verify_for
from togul_monitor.domain.flag_config import FlagConfig, parse_flag
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


class EnvironmentInfo(msgspec.Struct, frozen=True):
    environment_id: str
    environment_key: str
    project_id: str
    flag_keys: tuple[str, ...]
    names: dict[str, str]  # every environment id seen → its key (for `env:` filters)
    # flag key → id, in the environment
    flag_ids: dict[str, str] = msgspec.field(default_factory=dict)


def items_of(body: object, name: str) -> list[dict[str, Any]]:
    """The objects of the `name` list of an answer (`{"flags": [...]}`); a shape error else."""
    if isinstance(body, dict):
        body = body.get(name)
    if not isinstance(body, list):
        raise ManagementError(f"unexpected response shape (no {name!r} list)")
    return [item for item in body if isinstance(item, dict)]


def _failure(client: httpx.AsyncClient, exc: httpx.HTTPError) -> str:
    return network_failure(exc, str(client.base_url), client.timeout.read)


async def _get(client: httpx.AsyncClient, path: str, name: str) -> list[dict[str, Any]]:
    try:
        response = await client.get(path)
    except httpx.HTTPError as exc:
        raise ManagementError(f"management API unreachable: {_failure(client, exc)}") from None
    if response.status_code != 200:
        raise ManagementError(
            f"management API answered HTTP {response.status_code} for {path}", response.status_code
        )
    try:
        body = response.json()
    except ValueError:
        raise ManagementError(f"management API sent non-JSON for {path}") from None
    return items_of(body, name)


async def lookup_environment(
    base_url: str,
    token: str,
    environment_key: str,
    *,
    timeout: float = 5.0,
    verify: bool = True,
) -> EnvironmentInfo:
    """Find the environment with key `environment_key` and list its flags."""
    async with _client(base_url, token, timeout, verify) as client:
        names, projects = await _environments(client)
        found = next((env_id for env_id, key in names.items() if key == environment_key), None)
        if found is None:
            raise EnvironmentNotFound(environment_key, tuple(dict.fromkeys(names.values())))
        project_id = projects[found]
        flags = await _get(client, f"/api/v1/projects/{project_id}/flags", "flags")
        ids = _flag_ids(flags, found)
        return EnvironmentInfo(found, environment_key, project_id, tuple(sorted(ids)), names, ids)


async def environment_names(
    base_url: str, token: str, *, timeout: float = 5.0, verify: bool = True
) -> dict[str, str]:
    """Every environment the token can see: id → key (a profile without an environment of its
    own names the events of an organisation-wide stream with them)."""
    async with _client(base_url, token, timeout, verify) as client:
        return (await _environments(client))[0]


def _client(base_url: str, token: str, timeout: float, verify: bool) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=timeout,
        verify=verify_for(base_url, verify),
        trust_env=trust_env_for(base_url),
    )


async def _environments(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """Every environment of every project: id → key, and id → its project's id."""
    names: dict[str, str] = {}
    projects: dict[str, str] = {}
    for project in await _get(client, "/api/v1/projects", "projects"):
        project_id = str(project.get("id", ""))
        if not project_id:
            continue
        envs = await _get(client, f"/api/v1/projects/{project_id}/environments", "environments")
        for env in envs:
            env_id, key = env.get("id"), env.get("key")
            if isinstance(env_id, str) and isinstance(key, str) and env_id not in names:
                names[env_id] = key
                projects[env_id] = project_id
    return names, projects


def _flag_ids(flags: list[dict[str, Any]], environment_id: str) -> dict[str, str]:
    """Flag key → id of the listed flags of one environment."""
    return {
        f["key"]: f["id"]
        for f in flags
        if isinstance(f.get("key"), str)
        and isinstance(f.get("id"), str)
        and f.get("environment_id") == environment_id
    }


#: Called after a 401 with the token that was refused: True when a newer token is there to try
#: (client/tokens.py `TokenKeeper.renew`).
Renew = Callable[[str], Awaitable[bool]]


class FlagReader:
    """Reads one project's flags with a Bearer token that `token()` gives (kept fresh by the
    caller); after a 401, `renew` once and ask again. Failures are `ManagementError`s."""

    def __init__(
        self,
        base_url: str,
        project_id: str,
        token: Callable[[], str],
        *,
        renew: Renew | None = None,
        concurrency: int = 8,
        timeout: float = 10.0,
        verify: bool = True,
    ) -> None:
        self.project_id = project_id
        self._token = token
        self._renew = renew
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Accept": "application/json"},
            timeout=timeout,
            verify=verify_for(base_url, verify),
            trust_env=trust_env_for(base_url),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.requests = 0  # HTTP requests sent (each retry too)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def list_flags(self, environment_id: str) -> dict[str, str]:
        """Flag key → id of every flag of the environment."""
        path = f"/api/v1/projects/{self.project_id}/flags"
        body = await self._get(path, {"environment_id": environment_id})
        if body is None:
            raise ManagementError(f"management API answered HTTP 404 for {path}", 404)
        return _flag_ids(items_of(body, "flags"), environment_id)

    async def fetch_flag(self, flag_id: str) -> FlagConfig | None:
        """The flag with its rules; None when the server does not know it (404: deleted)."""
        path = f"/api/v1/projects/{self.project_id}/flags/{flag_id}"
        body = await self._get(path)
        if body is None:
            return None
        try:
            return parse_flag(body)
        except ValueError as exc:
            raise ManagementError(f"unexpected flag shape ({safe_text(exc)})") from None

    async def _get(self, path: str, params: dict[str, str] | None = None) -> object | None:
        """The JSON body of a 200, None for a 404. A 401 renews the token once; a network
        error, a 429 or a 5xx is tried once more (as the SDKs do)."""
        renewed = retried = False
        while True:
            token = self._token()
            self.requests += 1
            try:
                response = await self._client.get(
                    path, params=params, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError as exc:
                if not retried:
                    retried = True
                    continue
                said = _failure(self._client, exc)
                raise ManagementError(f"management API unreachable: {said}") from None
            status = response.status_code
            if status == 200:
                try:
                    body: object = response.json()
                    return body
                except ValueError:
                    raise ManagementError(f"management API sent non-JSON for {path}") from None
            if status == 404:
                return None
            if status == 401 and not renewed and self._renew is not None:
                renewed = True
                if await self._renew(token):
                    continue
            elif (status == 429 or status >= 500) and not retried:
                retried = True
                continue
            raise ManagementError(f"management API answered HTTP {status} for {path}", status)
