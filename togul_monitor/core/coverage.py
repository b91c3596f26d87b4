"""The coverage sampler: N synthetic users per context, each evaluated once, tallied against the
flag's configuration (domain/coverage.py says how and what "reached" means).

On demand only (`togul-monitor coverage`, the TUI's `o`), never per event. Bounded and paced:
at most `MAX_SAMPLES` samples per context, request starts at least 1/`MAX_RATE` s apart and at
most `MAX_IN_FLIGHT` at once (a profile's server is somebody's production: a measurement must
not look like a load test). The client's own retry (one, after a 429, a 5xx or a network error)
is the only request outside the pacing. Sampling stops at the first 401/403 (the credentials are
refused), quota answer (`billing.evaluation_blocked`) or 404 (no such flag): more requests would
all answer the same. It also stops after `MAX_FAILURES_IN_A_ROW` failures in a row.

The configuration the answers are attributed to is read before the run; given a way to read it
(`reread`), the sampler reads it again after the last answer, and a difference marks the result
`config_changed` (domain/coverage_change.py): the flag was edited under the run, whose answers
then follow two configurations, and no rule's share is compared with either.

The sampler has an `EvaluateClient` of its own (`open_client`): the monitor's counters, values
and pacing are not touched. The TUI runs it in a thread worker, on a loop of its own
(`CoverageRun`), never on the UI's loop or the monitor's; `cancel()` stops it from any thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from togul_monitor.client.evaluate import EvaluateClient, Outcome
from togul_monitor.client.management import (
    FlagReader,
    ManagementError,
    Renew,
    lookup_environment,
)
from togul_monitor.config.entry import Profile
from togul_monitor.core.plan import evaluate_problem
from togul_monitor.domain.coverage import (
    CoverageResult,
    CoverageTally,
    run_prefix,
    sample_context,
    varied_attributes,
)
from togul_monitor.domain.coverage_change import config_change
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.support.text import safe_text

DEFAULT_SAMPLES = 200
MAX_SAMPLES = 2_000  # per context
MAX_RATE = 50.0  # request starts per second, at most
MAX_IN_FLIGHT = 4
MAX_FAILURES_IN_A_ROW = 20

Progress = Callable[[int, int], None]  # (samples done, samples planned)
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
ReadConfig = Callable[[], Awaitable[FlagConfig | None]]  # None: the environment lacks the flag


class Pacer:
    """Request starts at least `1 / rate` seconds apart: in any second at most `rate` start.

    Each caller reserves the next free slot before it sleeps (no await between reading and
    moving the slot), so concurrent callers never share one."""

    def __init__(self, rate: float, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep):
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")

    async def wait(self) -> None:
        now = self._clock()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await self._sleep(start - now)


def clamp_samples(samples: int) -> int:
    return max(1, min(int(samples), MAX_SAMPLES))


def coverage_problem(profile: Profile) -> str | None:
    """Why `profile` cannot sample (a configuration error), None when it can."""
    return evaluate_problem(profile, "coverage")


def open_client(profile: Profile) -> EvaluateClient:
    """An evaluate client of the sampler's own (the profile must pass `coverage_problem`)."""
    assert profile.api_key is not None
    return EvaluateClient(
        profile.base_url,
        api_key=profile.api_key,
        environment_key=profile.environment_key,
        context=profile.context,
        max_concurrency=MAX_IN_FLIGHT,
    )


def _stop_reason(outcome: Outcome, message: str | None, flag_key: str) -> tuple[str, str] | None:
    """(kind, words) of an answer that ends the run; None for one worth going on after."""
    text = safe_text(message or "")
    if outcome is Outcome.REJECTED:
        return "rejected", f"the server rejected the API key ({text})"
    if outcome is Outcome.QUOTA:
        return "quota", f"evaluation quota exhausted ({text})"
    if outcome is Outcome.NOT_FOUND:
        return "not_found", f"no flag {safe_text(flag_key)} in this environment ({text})"
    return None


async def sample_coverage(
    client: EvaluateClient,
    flag_key: str,
    contexts: Mapping[str, Mapping[str, str]],
    *,
    config: FlagConfig | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int | str | None = None,
    progress: Progress | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    cancelled: Callable[[], bool] | None = None,
    reread: ReadConfig | None = None,
) -> CoverageResult:
    """Evaluate `samples` synthetic users of each context (at most `MAX_SAMPLES`), paced, and
    tally the answers. `cancelled()` is asked before each request (a cancelled task stops too).
    `clock` and `sleep` pace the requests (tests give a clock of their own). `reread()` reads
    the configuration again once every answer is in, to be compared with `config`."""
    samples = clamp_samples(samples)
    varied = varied_attributes(config)
    prefix = run_prefix(seed)
    tally = CoverageTally(flag_key, contexts, config, samples=samples, prefix=prefix, varied=varied)
    jobs = deque((name, i) for name in contexts for i in range(samples))
    planned, pacer = len(jobs), Pacer(MAX_RATE, clock, sleep)
    done = failures_in_a_row = answered = 0
    last_failure = ""

    def stop(kind: str, why: str) -> None:
        if tally.stopped is None:
            tally.stop_kind, tally.stopped = kind, why
        jobs.clear()

    async def worker() -> None:
        nonlocal done, failures_in_a_row, answered, last_failure
        while jobs:
            name, index = jobs.popleft()
            await pacer.wait()
            if tally.stopped is not None:
                return
            if cancelled is not None and cancelled():
                stop("cancelled", "cancelled")
                return
            sample = sample_context(contexts[name], varied, prefix, index)
            result = await client.evaluate(flag_key, sample)
            done += 1
            if result.outcome is Outcome.OK and result.evaluation is not None:
                failures_in_a_row = 0
                answered += 1
                evaluation = result.evaluation
                tally.add(name, sample, evaluation.value, evaluation.reason)
            else:
                why = _stop_reason(result.outcome, result.message, flag_key)
                tally.add_failure(name)
                failures_in_a_row += 1
                last_failure = safe_text(result.message or "") or result.outcome.value
                if why is not None:
                    stop(*why)
                elif failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                    text = safe_text(result.message or "")
                    stop("failures", f"{failures_in_a_row} failures in a row ({text})")
            if progress is not None:
                progress(done, planned)

    await asyncio.gather(*(worker() for _ in range(min(MAX_IN_FLIGHT, planned))))
    if done and not answered:  # nothing measured: a failure, whatever the count in a row
        stop("failures", f"every request failed ({last_failure})")
    if config is not None and reread is not None and tally.stop_kind != "cancelled":
        # After the last answer, so an edit that any answer saw is in what this read returns.
        try:
            tally.config_changed = config_change(config, await reread())
        except ManagementError as exc:
            tally.recheck_failed = safe_text(str(exc))
    return tally.result()


async def read_flag_config(
    profile: Profile, flag_key: str, token: Callable[[], str], renew: Renew | None = None
) -> FlagConfig | None:
    """The flag's configuration in the profile's environment through the management API (a
    token's), None when the environment does not list the flag. `ManagementError` else."""
    info = await lookup_environment(profile.base_url, token(), profile.environment_key)
    flag_id = info.flag_ids.get(flag_key)
    if flag_id is None:
        return None
    reader = FlagReader(profile.base_url, info.project_id, token, renew=renew, concurrency=1)
    try:
        return await reader.fetch_flag(flag_id)
    finally:
        await reader.aclose()


class CoverageRun:
    """One run on a loop of its own, for a thread worker: `run()` blocks and returns the
    result (None once cancelled); `cancel()` may be called from any thread, before or during.

    With a token the flag's configuration is read before the run (`config`, the monitor's
    copy, stays when that read fails) and again after it. The profile's token is sent as it is,
    never renewed: the running monitor owns the refresh token, and a second refresh would kill
    the one it holds (refresh tokens rotate; core/env_configs.py does the same)."""

    def __init__(
        self,
        profile: Profile,
        flag_key: str,
        *,
        config: FlagConfig | None,
        samples: int = DEFAULT_SAMPLES,
        contexts: Mapping[str, Mapping[str, str]] | None = None,
        progress: Progress | None = None,
        seed: int | str | None = None,
    ) -> None:
        self.profile, self.flag_key, self.config = profile, flag_key, config
        self.samples, self.progress, self.seed = samples, progress, seed
        self.contexts = dict(contexts if contexts is not None else profile.evaluation_contexts)
        self._lock = threading.Lock()
        self._cancelled = False
        self.finished = False  # run() returned (tests and the screen may look)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[CoverageResult] | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has closed: the run is over anyway
                pass

    def run(self) -> CoverageResult | None:
        try:
            return asyncio.run(self._main())
        except asyncio.CancelledError:
            return None
        finally:
            self.finished = True

    async def _main(self) -> CoverageResult:
        task = asyncio.current_task()
        assert task is not None
        with self._lock:
            if self._cancelled:
                raise asyncio.CancelledError
            self._loop, self._task = asyncio.get_running_loop(), task
        config, reread = self.config, None
        if self.profile.token:
            reread = self._read_config
            try:
                config = await reread()
            except ManagementError:
                pass  # the monitor's copy; the read after the run will say why it failed
        client = open_client(self.profile)
        try:
            return await sample_coverage(
                client,
                self.flag_key,
                self.contexts,
                config=config,
                samples=self.samples,
                seed=self.seed,
                progress=self.progress,
                cancelled=lambda: self._cancelled,
                reread=reread,
            )
        finally:
            with self._lock:
                self._loop = self._task = None
            await client.aclose()

    async def _read_config(self) -> FlagConfig | None:
        token = self.profile.token or ""
        return await read_flag_config(self.profile, self.flag_key, lambda: token)
