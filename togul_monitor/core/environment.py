"""What a monitor knows of environments: the profile's own (its id, once known) and the names
of every environment it has seen, for the `env:` filter and every view. Names are facts, never
labels: an event is named after the profile's environment only once that is verified.

Before the stream starts (`prepare`, called by `Monitor.start`):
- With a token, the management API maps the profile's `environment_key` to its id and names
  every environment the token can see (`look_up`; an expired token is refreshed once on a 401).
  No environment of that key is a configuration error. A profile without an environment (an
  ad-hoc `--url` with a token) still learns the names, for the events of every environment.
- With an API key that may evaluate (sdk or server scope), one evaluate request tells whether
  the key belongs to `environment_key` (client/environment_check.py): a key of another
  environment is a configuration error, raised from `Monitor.start`. The probe is not an
  evaluation: no view counts it. A probe with no usable answer (no answer in time, a 503) is
  made again once the stream brings events (the server answers then), `PROBE_AGAIN_AFTER`
  seconds later, then twice as long after each one still without an answer: a key of another
  environment then stops the stream with the start's error (`on_mismatch`), and a verified one
  names its events from then on.
- A key of scope stream cannot evaluate; without a token nothing can tell its environment, so
  its events keep their environment id and the snapshot's notes say "environment not verified".
- Those notes are about the events a live stream brings: they are held until the stream first
  goes live (`Environments.live`), then said (a `Noticed`). A stream that never does has its own
  error say what is wrong: a key the server rejects (the probe's 401 is no question of
  environment, and the stream's 401 says it, with the key), a host that does not answer.

While streaming (`Environments.relevant`):
- An API-key stream is the key's environment (the server scopes it). When the id is known
  before any event (from the token's lookup, or a built-in profile), the first event must carry
  it: another id means the key belongs to another environment, and `on_mismatch` is told. When
  it is not known, the first event's id is learnt, and named after the profile's environment
  only when the probe verified the pair.
- On an organisation-wide stream, only events of the profile's environment are relevant to its
  values; the others are shown, not evaluated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec

from togul_monitor.client.credentials import key_may_evaluate
from togul_monitor.client.environment_check import ProbeResult, Verdict, probe_environment
from togul_monitor.client.management import (
    EnvironmentInfo,
    EnvironmentNotFound,
    ManagementError,
    environment_names,
    lookup_environment,
)
from togul_monitor.client.tls import ca_problem
from togul_monitor.client.tokens import TokenKeeper
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.core.plan import StreamPlan, plan_stream
from togul_monitor.core.update_notes import Noticed
from togul_monitor.domain.events import FlagEvent
from togul_monitor.support.text import mask_secret, safe_text

log = logging.getLogger("togul_monitor.core.monitor")

#: Evaluated by the probe when the profile names no flag: an unknown flag answers 404 once the
#: key was accepted for the environment, and costs no evaluation.
PROBE_FLAG = "togul-monitor-environment-check"


class Verification(msgspec.Struct, frozen=True):
    verified: bool  # the stream's environment may be named after the profile's
    notes: tuple[str, ...] = ()
    again: bool = False  # the probe had no usable answer: ask again once the stream is live


async def look_up(
    profile: Profile, tokens: TokenKeeper | None = None
) -> EnvironmentInfo | dict[str, str] | str:
    """The management API's answer for the profile's environment (a profile without one: the
    names of every environment, id → key), or why there is none; a ConfigError when the token's
    organisation has no environment of that key. A 401 refreshes the token once (when `tokens`
    can) and asks again."""
    token = tokens.token if tokens is not None else profile.token
    assert token is not None
    for attempt in (1, 2):
        try:
            if not profile.environment_key:
                return await environment_names(profile.base_url, token)
            return await lookup_environment(profile.base_url, token, profile.environment_key)
        except EnvironmentNotFound as exc:
            raise ConfigError(str(exc), profile=profile.name, key="environment_key") from None
        except ManagementError as exc:
            if attempt == 1 and exc.status == 401 and tokens is not None:
                if await tokens.renew(token):
                    token = tokens.token
                    continue
                hint = tokens.rejection_hint()
                return f"{exc}: {hint}" if hint else str(exc)
            return str(exc)
    raise AssertionError("unreachable")


async def refuse_other_environment(profile: Profile, flag_key: str) -> ProbeResult:
    """The probe of `profile`'s API key (one that may evaluate) in its environment, with
    `flag_key`; a ConfigError when the key belongs to another environment."""
    key = profile.api_key
    assert key is not None
    result = await probe_environment(
        profile.base_url,
        key,
        profile.environment_key,
        flag_key=flag_key,
        context=next(iter(profile.evaluation_contexts.values())),
    )
    if result.verdict is Verdict.OTHER_ENVIRONMENT:
        raise ConfigError(
            f"the API key {mask_secret(key)} belongs to another environment than "
            f"{safe_text(profile.environment_key)!r} (evaluate answered {result.detail}); "
            "set environment_key to the key's environment, or use a key of this one",
            profile=profile.name,
            key="environment_key",
        )
    return result


async def verify(profile: Profile, plan: StreamPlan) -> Verification:
    """Whether the profile's API key belongs to its environment (module docstring); raises a
    ConfigError when it does not."""
    known_id = plan.environment_id is not None
    key = profile.api_key
    if not profile.environment_key:
        return Verification(False)  # nothing to name the events after (plan notes it)
    if key and key_may_evaluate(key):
        result = await refuse_other_environment(
            profile, (*profile.watch, *plan.listed, PROBE_FLAG)[0]
        )
        if result.verdict is Verdict.BELONGS:
            return Verification(True)
        if known_id or not plan.credentials.environment_scoped:
            return Verification(False)  # the token's lookup named the environment
        return Verification(
            False,
            (
                f"environment not verified (the evaluate probe: {result.detail}): events show "
                "the environment's id",
            ),
            again=True,
        )
    if known_id or not plan.credentials.environment_scoped:
        return Verification(False)
    lookup = "the token's lookup failed" if profile.token else "there is no token to look it up"
    return Verification(
        False,
        (
            f"environment not verified: a key of scope stream cannot evaluate, and {lookup}; "
            "events show the environment's id",
        ),
    )


async def prepare(profile: Profile, tokens: TokenKeeper | None) -> tuple[StreamPlan, Verification]:
    """The stream plan and the environment's verification, before the stream starts; a
    ConfigError when the CA file the environment names cannot be read (client/tls.py)."""
    problem = ca_problem(profile.base_url)
    if problem is not None:
        raise ConfigError(safe_text(problem))
    lookup = await look_up(profile, tokens) if profile.token else None
    plan = plan_stream(profile, lookup)
    return plan, await verify(profile, plan)


# Seconds before a probe is made again, doubled after each one without a usable answer (a 401,
# a quota answer or an overloaded server may stay so), up to PROBE_AGAIN_MAX.
PROBE_AGAIN_AFTER = 5.0
PROBE_AGAIN_MAX = 300.0


class Environments:
    def __init__(
        self, environment_key: str, publish: Callable[[Noticed], None] = lambda _: None
    ) -> None:
        self.environment_key = environment_key
        self._publish = publish  # a note due once the stream is live (`live`)
        self.environment_id: str | None = None  # the profile's environment, once known
        self.names: dict[str, str] = {}  # id → key
        self.scoped_stream = True  # the stream carries the profile's environment only
        self.verified = False  # an API-key stream's events may be named after the profile's
        self.mismatch: str | None = None  # why the stream is not the profile's environment
        self._checked = False  # the first event of an API-key stream was compared
        #: Told of names learnt from the stream (the journal keeps them for `export --filter`).
        self.on_learnt: Callable[[dict[str, str]], None] | None = None
        #: Told, once, that an API-key stream carries another environment than the profile's.
        self.on_mismatch: Callable[[str], None] | None = None
        self.on_change: Callable[[], None] = lambda: None  # a verification came late
        # Why the environment is not verified (the snapshot's): none when it is, or when the
        # token's lookup named it; and none until the stream is live (`_held` until then).
        self.notes: tuple[str, ...] = ()
        self._held: tuple[str, ...] = ()
        self._probe: Callable[[], Awaitable[Verification]] | None = None  # owed: made again
        self._probed_at: float | None = None  # loop time it was last made again
        self._probe_wait = PROBE_AGAIN_AFTER  # before the next one
        self._probe_task: asyncio.Task[None] | None = None
        self._closed = False

    def apply(
        self,
        plan: StreamPlan,
        verification: Verification,
        check: Callable[[], Awaitable[Verification]] | None = None,
    ) -> None:
        """The start's plan and verification; `check` makes the probe again (`verify`), when
        the first had no usable answer (a server slow to start, say): the events it brings
        then prove the server answers, and whether the key is of another environment."""
        self.scoped_stream = plan.credentials.environment_scoped
        self.environment_id = plan.environment_id
        self.names = dict(plan.environment_names)
        self.verified = verification.verified
        self._held = verification.notes  # said once the stream is live (`live`)
        self._probe = check if verification.again else None

    def live(self) -> None:
        """The stream is live: the notes the start held are due now, each said once. Before,
        they would only precede the stream's own error (a rejected key, a host with no answer),
        which says what is wrong; once live, its events show the environment's id, as the notes
        say."""
        held, self._held = self._held, ()
        if not held or self.mismatch is not None:
            return
        self.notes = held
        for note in held:
            log.info("%s", note)
            self._publish(Noticed(note))

    def relevant(self, batch: list[FlagEvent]) -> list[FlagEvent]:
        """The events of `batch` that concern the profile's environment."""
        if self.mismatch is not None:
            return []
        if self._probe is not None:
            self._probe_soon()
        if self.scoped_stream:
            if self.environment_id is None:
                self._learn(batch[0].environment_id)
            elif not self._checked:
                self._checked = True
                if batch[0].environment_id != self.environment_id:
                    self._mismatched(batch[0].environment_id)
                    return []
            return batch
        env_id = self.environment_id
        if env_id is None:  # an org-wide stream whose environment is unknown: not evaluated
            return []
        return [e for e in batch if e.environment_id == env_id]

    def _learn(self, environment_id: str) -> None:
        """An API-key stream is the key's environment: its id is the profile's one, and is
        named after it when the pair was verified (else the id is shown as it is)."""
        self.environment_id = environment_id
        self._checked = True
        self._name(environment_id)

    def _name(self, environment_id: str) -> None:
        """The stream's environment named after the profile's, once the pair is verified."""
        if self.verified and self.environment_key and environment_id not in self.names:
            self.names[environment_id] = self.environment_key
            if self.on_learnt is not None:
                self.on_learnt({environment_id: self.environment_key})

    def answered_mark(self) -> Callable[[], bool]:
        """Whether the probe running now has answered (`tail --count` waits for it before it
        exits); one made later is not waited for, nor the next while none runs."""
        task = self._probe_task
        if task is None or task.done():
            return lambda: True
        return task.done

    def _probe_soon(self) -> None:
        loop = asyncio.get_running_loop()
        if self._closed or (self._probe_task is not None and not self._probe_task.done()):
            return
        if self._probed_at is not None and loop.time() - self._probed_at < self._probe_wait:
            return
        if self._probed_at is not None:
            self._probe_wait = min(2 * self._probe_wait, PROBE_AGAIN_MAX)
        self._probed_at = loop.time()
        self._probe_task = loop.create_task(self._probe_again(), name="environment-probe")

    async def _probe_again(self) -> None:
        assert self._probe is not None
        try:
            verification = await self._probe()
        except ConfigError as error:  # the key's environment is another one
            self._probe = None
            self._stop(error.message)
            return
        self.notes = verification.notes  # what the last answer said
        if not verification.again:
            self._probe = None
            self.verified = verification.verified
            if self.environment_id is not None:
                self._name(self.environment_id)
        self.on_change()

    async def aclose(self) -> None:
        self._closed = True
        if self._probe_task is not None:
            self._probe_task.cancel()
            await asyncio.gather(self._probe_task, return_exceptions=True)

    def _mismatched(self, actual_id: str) -> None:
        expected_id = self.environment_id or ""
        actual = self.names.get(actual_id)
        streamed = (
            f"{safe_text(actual)!r} (id {safe_text(actual_id)})"
            if actual
            else (f"id {safe_text(actual_id)}")
        )
        self._stop(
            f"the API key streams environment {streamed}, not the profile's "
            f"{safe_text(self.environment_key)!r} (id {safe_text(expected_id)}): the key "
            "belongs to another environment; set environment_key to the key's environment, or "
            "use a key of this one"
        )

    def _stop(self, why: str) -> None:
        """The stream is not the profile's environment: nothing more of it is relevant, and
        `on_mismatch` is told (unless closing: a late probe's verdict stops nothing)."""
        self.mismatch = why
        # "not verified" no longer: the verdict is in, and it stops the stream.
        self.notes = self._held = ()
        if self.on_mismatch is not None and not self._closed:
            self.on_mismatch(why)
