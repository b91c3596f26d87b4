"""The evaluate client: POST /api/v1/evaluate for the profile's environment and context.

Policy (docs/protocol.md, evaluate; the official SDKs do the same):
- two attempts in all; the second only after 429, 5xx or a network error, after a short backoff
  (`Retry-After` honoured up to `max_retry_after` seconds, else 100 ms);
- 404 means the flag is gone (`NOT_FOUND`), never retried;
- 401/403 mean the credentials are rejected (`REJECTED`), never retried: the caller stops asking
  until told otherwise, so a revoked key costs one status, not a request storm;
- except a 403 whose code is `billing.evaluation_blocked`: the organization's evaluation quota
  is spent (`QUOTA`). Not retried here (the period may last days); the caller asks again much
  later. `retry_after` carries the server's `Retry-After` when there is one;
- other 4xx are `FAILED` with the server's code and message;
- the body is parsed tolerantly: a missing or unknown `value_type` becomes None and the raw
  value is kept; a missing `reason`/`enabled` becomes None.

Error text never includes the API key; server text in it is made safe to print. A request
that fails on the network is said in the stream's words (support/plain_errors.py).
"""

from __future__ import annotations

import asyncio
import enum

import httpx
import msgspec
import msgspec.structs

from togul_monitor.client.http import error_fields, error_text, json_body, network_failure
from togul_monitor.client.tls import trust_env_for, verify_for
from togul_monitor.domain.values import Evaluation, evaluation_from_json
from togul_monitor.protocol import EVALUATE_PATH, VALUE_TYPES


class Outcome(enum.Enum):
    OK = "ok"
    NOT_FOUND = "not_found"
    REJECTED = "rejected"  # 401/403: credentials (or scope) refused
    QUOTA = "quota"  # 403 billing.evaluation_blocked: the evaluation quota is spent
    FAILED = "failed"  # anything else, after the retry


#: The error code of Togul's "evaluation quota exhausted" 403 (docs/protocol.md, evaluate).
QUOTA_CODE = "billing.evaluation_blocked"


class EvaluateResult(msgspec.Struct, frozen=True):
    outcome: Outcome
    evaluation: Evaluation | None = None
    status: int | None = None  # HTTP status of the last attempt (None: network error)
    message: str | None = None  # safe, secret-free text for the views
    retry_after: float | None = None  # QUOTA: the server's Retry-After, in seconds, if any


class EvaluateCounters(msgspec.Struct):
    requests: int = 0  # HTTP requests sent (retries included)
    ok: int = 0
    not_found: int = 0
    rejected: int = 0
    quota: int = 0
    failed: int = 0
    by_status: dict[int, int] = msgspec.field(default_factory=dict)


def parse_evaluation(body: object) -> Evaluation | None:
    """A response body as an Evaluation, or None when it is not a JSON object."""
    evaluation = evaluation_from_json(body)
    if evaluation is not None and evaluation.value_type not in VALUE_TYPES:
        # An unknown value_type from the server is no type at all: the raw value is shown.
        evaluation = msgspec.structs.replace(evaluation, value_type=None)
    return evaluation


def _retry_after(response: httpx.Response, default: float, cap: float) -> float:
    raw = response.headers.get("retry-after")
    if raw is None:
        return default
    try:
        return max(0.0, min(float(raw), cap))
    except ValueError:
        return default  # an HTTP date: not worth parsing for a delay we cap anyway


class EvaluateClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        environment_key: str,
        context: dict[str, str] | None = None,
        timeout: float = 5.0,
        attempts: int = 2,
        backoff: float = 0.1,
        max_retry_after: float = 2.0,
        verify: bool = True,
        max_concurrency: int = 8,
    ) -> None:
        self.environment_key = environment_key
        self.context = dict(context or {})
        self.counters = EvaluateCounters()
        self._url, self._timeout = base_url, timeout
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._max_retry_after = max_retry_after
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"X-API-Key": api_key, "Accept": "application/json"},
            timeout=timeout,
            verify=verify_for(base_url, verify),
            trust_env=trust_env_for(base_url),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=8),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def evaluate(
        self, flag_key: str, context: dict[str, str] | None = None
    ) -> EvaluateResult:
        """`flag_key` for `context`, or for the client's own context when None (coverage
        sampling asks for many synthetic contexts through one client)."""
        payload = {
            "flag_key": flag_key,
            "environment_key": self.environment_key,
            "context": self.context if context is None else context,
        }
        result = EvaluateResult(Outcome.FAILED, message="not attempted")
        for attempt in range(1, self._attempts + 1):
            delay = self._backoff * attempt
            self.counters.requests += 1
            try:
                response = await self._client.post(EVALUATE_PATH, json=payload)
            except httpx.HTTPError as exc:
                said = network_failure(exc, self._url, self._timeout)
                result = EvaluateResult(Outcome.FAILED, message=said)
            else:
                status = response.status_code
                self.counters.by_status[status] = self.counters.by_status.get(status, 0) + 1
                result = self._interpret(response)
                if not (status == 429 or status >= 500):
                    break
                delay = _retry_after(response, delay, self._max_retry_after)
            if attempt < self._attempts:
                await asyncio.sleep(delay)
        self._count(result)
        return result

    def _interpret(self, response: httpx.Response) -> EvaluateResult:
        status = response.status_code
        if status == 200:
            evaluation = parse_evaluation(json_body(response))
            if evaluation is None:
                return EvaluateResult(
                    Outcome.FAILED, status=status, message="evaluate answered a non-object body"
                )
            return EvaluateResult(Outcome.OK, evaluation=evaluation, status=status)
        body = json_body(response)
        text = error_text(status, body)  # `HTTP 403 forbidden: message`, as the stream says it
        if status == 404:
            return EvaluateResult(Outcome.NOT_FOUND, status=status, message=text)
        if status == 403 and error_fields(body)[0] == QUOTA_CODE:
            retry_after = _retry_after(response, -1.0, float("inf"))
            return EvaluateResult(
                Outcome.QUOTA,
                status=status,
                message=text,
                retry_after=retry_after if retry_after >= 0 else None,
            )
        if status in (401, 403):
            return EvaluateResult(Outcome.REJECTED, status=status, message=text)
        return EvaluateResult(Outcome.FAILED, status=status, message=text)

    def _count(self, result: EvaluateResult) -> None:
        c = self.counters
        if result.outcome is Outcome.OK:
            c.ok += 1
        elif result.outcome is Outcome.NOT_FOUND:
            c.not_found += 1
        elif result.outcome is Outcome.REJECTED:
            c.rejected += 1
        elif result.outcome is Outcome.QUOTA:
            c.quota += 1
        else:
            c.failed += 1
