"""A monitor's Bearer token: kept fresh while it runs, and written back where it came from.

`ProfileTokens` wraps the client's `TokenKeeper` (client/tokens.py) for one monitor: it runs
the keeper's refresh loop on the monitor's loop, and hands each rotated pair to the profile
file when the secret was a literal there (`Profile.file_literals`; config/profiles.py writes it:
comments kept, atomic, mode 0600). A secret from a variable or the command line is kept in
memory only: the next start reads the variable again. Writes run on a thread, one at a time
and newest last, so a file never ends up holding an older refresh token than a newer one the
server already rotated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from togul_monitor.client.tokens import TokenKeeper, TokenPair
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import ProfileStore

log = logging.getLogger("togul_monitor.core.monitor")


def login_hint(profile: Profile) -> str:
    if profile.source_file is not None:
        return f"log in again: togul-monitor login --profile {profile.name}"
    return "give a fresh token (--token or TOGUL_TOKEN)"


class ProfileTokens:
    def __init__(
        self,
        profile: Profile,
        note: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._profile = profile
        self._note = note
        self.keeper: TokenKeeper | None = None
        if profile.token:
            self.keeper = TokenKeeper(
                profile.base_url,
                profile.token,
                profile.refresh_token,
                login_hint=login_hint(profile),
                clock=clock,
                on_rotated=self._rotated,
            )
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._latest: TokenPair | None = None

    def start(self) -> None:
        """Refresh before every expiry from now on (on the running loop)."""
        keeper = self.keeper
        if keeper is not None and keeper.can_refresh and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                keeper.run(), name=f"monitor-token-{self._profile.name}"
            )

    async def aclose(self) -> None:
        """Stop refreshing; let a write under way finish (a rotated refresh token must not be
        lost: the old one is already dead)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer

    def _rotated(self, pair: TokenPair) -> None:
        literals = self._profile.file_literals
        if self._profile.source_file is None or not literals & {"token", "refresh_token"}:
            return  # kept in memory only (the keeper holds it)
        self._latest = pair
        if self._writer is None or self._writer.done():
            loop = asyncio.get_running_loop()
            self._writer = loop.create_task(self._write_latest(), name="monitor-token-write")

    async def _write_latest(self) -> None:
        while self._latest is not None:
            pair, self._latest = self._latest, None
            try:
                await asyncio.to_thread(self._store, pair)
            except (ConfigError, OSError) as exc:
                reason = exc.message if isinstance(exc, ConfigError) else str(exc)
                self._note(f"the renewed token is kept in memory only: {reason}")

    def _store(self, pair: TokenPair) -> None:
        profile = self._profile
        literals = profile.file_literals
        assert profile.source_file is not None
        ProfileStore(profile.source_file).store_tokens(
            profile.name,
            token=pair.token if "token" in literals else None,
            refresh_token=pair.refresh_token if "refresh_token" in literals else None,
        )
        log.info("renewed token written to %s (profile %s)", profile.source_file, profile.name)
