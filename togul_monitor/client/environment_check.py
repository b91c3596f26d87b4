"""Does this API key belong to that environment? One evaluate request says (docs/protocol.md).

`POST /api/v1/evaluate` takes the environment's key beside the API key, and a key of another
environment answers 403. So one evaluate of one flag tells whether a profile's `api_key` and
`environment_key` go together, before the monitor names a single event after that environment:
- 200 (a value) or 404 (no such flag: the key was accepted for the environment): they do;
- 403 for a key of scope sdk or server: they do not (the quota's 403,
  `billing.evaluation_blocked`, says nothing about the environment);
- anything else (401, 5xx, no answer, a 403 for a key whose scope its prefix does not tell):
  unknown.

A key of scope stream cannot evaluate at all (client/credentials.py `key_may_evaluate`), so it
is never probed. The probe is one request, not retried here, and not counted as an evaluation
anywhere; the monitor makes it again, now and then, while its answer is unknown
(core/environment.py).
"""

from __future__ import annotations

import enum

import httpx
import msgspec

from togul_monitor.client.http import error_fields, error_text, json_body, network_failure
from togul_monitor.client.tls import trust_env_for, verify_for
from togul_monitor.protocol import EVALUATE_PATH, KEY_PREFIXES

QUOTA_CODE = "billing.evaluation_blocked"


class Verdict(enum.Enum):
    BELONGS = "belongs"
    OTHER_ENVIRONMENT = "other_environment"
    UNKNOWN = "unknown"


class ProbeResult(msgspec.Struct, frozen=True):
    verdict: Verdict
    detail: str = ""  # secret-free: the HTTP status and the server's error code and message


def _known_scope(api_key: str) -> bool:
    return api_key.startswith((KEY_PREFIXES["sdk"], KEY_PREFIXES["server"]))


async def probe_environment(
    base_url: str,
    api_key: str,
    environment_key: str,
    *,
    flag_key: str,
    context: dict[str, str] | None = None,
    timeout: float = 5.0,
    verify: bool = True,
) -> ProbeResult:
    """One evaluate of `flag_key` with `api_key` in `environment_key`: does the key belong?"""
    body = {"flag_key": flag_key, "environment_key": environment_key, "context": context or {}}
    try:
        verify = verify_for(base_url, verify)
        trust_env = trust_env_for(base_url)
        async with httpx.AsyncClient(timeout=timeout, verify=verify, trust_env=trust_env) as client:
            response = await client.post(
                base_url.rstrip("/") + EVALUATE_PATH,
                json=body,
                headers={"X-API-Key": api_key, "Accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        said = network_failure(exc, base_url, timeout)
        return ProbeResult(Verdict.UNKNOWN, f"no answer: {said}")
    status = response.status_code
    if status in (200, 404):
        return ProbeResult(Verdict.BELONGS, f"HTTP {status}")
    answer = json_body(response)
    code, text = error_fields(answer)[0], error_text(status, answer)
    if status == 403 and code != QUOTA_CODE:
        if _known_scope(api_key) or "environment" in text.lower():
            return ProbeResult(Verdict.OTHER_ENVIRONMENT, text)
    return ProbeResult(Verdict.UNKNOWN, text)
