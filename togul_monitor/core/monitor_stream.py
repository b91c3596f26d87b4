"""The monitor's stream task, as the monitor drives it: started once the plan says with which
credentials, restarted on demand (`R`, after it ended), halted for good when the stream proves
to be another environment's (the profile must change).

The task itself, what it reads and what becomes of each item, is core/intake.py's. On the
monitor's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from togul_monitor.client.credentials import StreamCredentials
from togul_monitor.client.stream import StreamClient
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile
from togul_monitor.core.intake import Intake
from togul_monitor.core.stream_factory import StreamFactory
from togul_monitor.core.tokens import ProfileTokens
from togul_monitor.core.updates import MonitorUpdate
from togul_monitor.domain.events import ConnectionState, Status


class MonitorStream:
    def __init__(
        self,
        profile: Profile,
        intake: Intake,
        tokens: ProfileTokens,
        clock: Callable[[], float],
        factory: StreamFactory,
        publish: Callable[[MonitorUpdate], None],
    ) -> None:
        self._profile = profile
        self._intake = intake
        self._tokens = tokens
        self._clock = clock
        self._factory = factory
        self._publish = publish
        self.credentials = StreamCredentials()  # the plan's, from the start
        self.configuration_error: ConfigError | None = None  # the stream proved the profile wrong
        self._halting: asyncio.Task[None] | None = None

    def start(self) -> None:
        """A fresh stream client, resumed where the intake says (core/intake.py
        `take_resumed`), read by a new task."""
        resumed = self._intake.take_resumed()
        if resumed is not None and not self.credentials.environment_scoped:
            # An org-wide stream numbers every environment's events in one sequence: its last
            # event, of whichever environment, is where it resumes (docs/stream-client.md).
            resumed = resumed._replace(environment_id=None)
        stream = self._factory(
            self._profile,
            api_key=self.credentials.api_key,
            token=self.credentials.token,
            clock=self._clock,
            resumed=resumed,
        )
        if isinstance(stream, StreamClient) and stream.auth == "bearer":
            stream.tokens = self._tokens.keeper  # its current token on every connection
        self._intake.start(stream, name=f"monitor-stream-{self._profile.name}")

    def restart(self) -> None:
        """Reconnect now: a fresh client when the old stream ended (STOPPED, or its task
        failed), else the running one reconnects."""
        if not self._intake.running:
            self.start()
        elif self._intake.stream is not None:
            self._intake.stream.restart()

    def mismatch(self, message: str) -> None:
        """Another environment's stream: stopped, and `configuration_error` says why."""
        error = ConfigError(message, profile=self._profile.name, key="environment_key")
        self.configuration_error = error
        self._halting = asyncio.get_running_loop().create_task(self._halt())

    async def _halt(self) -> None:
        await self._intake.stop()
        status = Status(ConnectionState.STOPPED, self._clock(), error=str(self.configuration_error))
        self._intake.status = status
        self._publish(status)
