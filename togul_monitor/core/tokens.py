"""A monitor's Bearer token: kept fresh while it runs, and written back where it came from.

`ProfileTokens` wraps the client's `TokenKeeper` (client/tokens.py) for one monitor: it runs
the keeper's refresh loop on the monitor's loop, and hands each rotated pair to the profile
file when the secret was a literal there (`Profile.file_literals`; config/profiles.py writes it:
comments kept, atomic, mode 0600). A secret from a variable or the command line is kept in
memory only: the next start reads the variable again (a refresh token read from one is spent
by the first rotation, so the monitor says once that the next run needs a fresh one). Writes
run on a thread, one at a time and newest last, so a file never ends up holding an older refresh
token than a newer one the server already rotated.

A write replaces only what this run put there: the profile of that name must still have the
base URL the run started with and still hold, as literals, the token and refresh token the run
last read or wrote (checked under the file's lock). A profile removed and made again for another
server, or whose secrets were moved to variables, is left alone: the pair stays in memory and
the monitor says so once.

Two monitors on one profile (the TUI and `tail --profile` beside it) share its refresh token:
the first to renew spends it and writes its new pair here. The other's renewal is then refused;
before giving up it reads the profile again (`_reload`: for up to RELOAD_WAIT while the file
still holds the spent refresh token, the other's write may land just after the refusal) and
goes on with the pair found there, when the profile is still this run's and holds another
refresh token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from togul_monitor.client.tokens import TokenKeeper, TokenPair
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import ProfileChanged, ProfileStore, load_config
from togul_monitor.support.text import safe_text

log = logging.getLogger("togul_monitor.core.monitor")

RELOAD_WAIT = 2.0  # a refused renewal looks this long for another monitor's pair in the file...
RELOAD_EVERY = 0.1  # ...reading it this often


def login_hint(profile: Profile) -> str:
    if profile.source_file is not None:
        return f"log in again: togul-monitor login --profile {profile.name}"
    return "give a fresh token (--token-file or TOGUL_TOKEN)"


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
                reload=self._reload,
            )
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._latest: TokenPair | None = None
        # What the file's profile holds that this run put or found there: a write needs it still.
        self._in_file = _file_values(profile, profile.token, profile.refresh_token)
        self._detached = False  # the file's profile changed: nothing more is written to it
        self._spent_said = False  # the refresh token of `refresh_token_env` was rotated: said

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
        self._variable_spent(pair)
        literals = self._profile.file_literals
        if self._profile.source_file is None or not literals & {"token", "refresh_token"}:
            return  # kept in memory only (the keeper holds it)
        if self._detached:
            return  # said once already
        self._latest = pair
        if self._writer is None or self._writer.done():
            loop = asyncio.get_running_loop()
            self._writer = loop.create_task(self._write_latest(), name="monitor-token-write")

    def _variable_spent(self, pair: TokenPair) -> None:
        """A refresh token read from a variable is dead once the server rotated it, and the new
        one cannot be put back there: this run goes on with it, the next would fail to renew.
        Said once, when it happens, with what the next run needs."""
        profile = self._profile
        variable = profile.refresh_token_env
        if self._spent_said or not variable or pair.refresh_token == profile.refresh_token:
            return
        self._spent_said = True
        shown = safe_text(variable)
        self._note(
            f"the refresh token in {shown} is spent (the server replaced it when renewing the"
            f" token); the new one is kept in memory for this run only: the next run needs a"
            f" fresh one in {shown}, or `togul-monitor login --profile {profile.name}`"
        )

    async def _write_latest(self) -> None:
        while self._latest is not None:
            pair, self._latest = self._latest, None
            try:
                self._in_file = await asyncio.to_thread(self._store, pair, dict(self._in_file))
            except ProfileChanged as exc:
                self._detached = True
                self._latest = None
                self._note(
                    f"the renewed token was not written to {exc.file}: profile"
                    f" {self._profile.name!r} there is no longer the one this run's token came"
                    " from (another server, or other credentials); it is kept in memory for"
                    " this run only"
                )
            except (ConfigError, OSError) as exc:
                reason = exc.message if isinstance(exc, ConfigError) else str(exc)
                self._note(f"the renewed token is kept in memory only: {reason}")

    async def _reload(self) -> TokenPair | None:
        """The pair the file's profile holds now, when its refresh token is a literal there and
        the profile is still the one the run started with: another monitor on this profile may
        have renewed first (the refresh token this one holds is then spent) and written it.

        Two monitors that read one token renew at the same moment, and the other's write lands
        a few milliseconds after the server refused this one: while the file still holds the
        spent refresh token, it is read again for up to RELOAD_WAIT seconds."""
        profile = self._profile
        path = profile.source_file
        if path is None or "refresh_token" not in profile.file_literals or self._detached:
            return None
        spent = self._in_file.get("refresh_token")
        deadline = time.monotonic() + RELOAD_WAIT
        log.info("token renewal refused: reading the pair in %s (profile %s)", path, profile.name)
        while True:
            pair = await asyncio.to_thread(self._read_pair, path)
            if pair is None or pair.refresh_token != spent or time.monotonic() >= deadline:
                break
            await asyncio.sleep(RELOAD_EVERY)
        if pair is not None:
            self._in_file = _file_values(profile, pair.token, pair.refresh_token)
        return pair

    def _read_pair(self, path: Path) -> TokenPair | None:
        """The file's pair for this run's profile; None when it is not this run's any more."""
        profile = self._profile
        try:
            entry = load_config(path).profiles.get(profile.name)
        except (ConfigError, OSError):
            return None
        if entry is None or entry.base_url != self._in_file["base_url"] or not entry.refresh_token:
            return None
        if "token" in profile.file_literals:
            token = entry.token
        else:  # from a variable or the command line: still that one
            token = self.keeper.token if self.keeper is not None else None
        if not token:
            return None  # the token moved out of the file: not this run's profile any more
        return TokenPair(token, entry.refresh_token)

    def _store(self, pair: TokenPair, expect: dict[str, str]) -> dict[str, str]:
        """Write `pair` if the profile still holds `expect`; what it holds afterwards."""
        profile = self._profile
        literals = profile.file_literals
        assert profile.source_file is not None
        token = pair.token if "token" in literals else None
        refresh_token = pair.refresh_token if "refresh_token" in literals else None
        ProfileStore(profile.source_file).store_tokens(
            profile.name, token=token, refresh_token=refresh_token, expect=expect
        )
        log.info("renewed token written to %s (profile %s)", profile.source_file, profile.name)
        written = {"token": token, "refresh_token": refresh_token}
        return expect | {key: value for key, value in written.items() if value is not None}


def _file_values(profile: Profile, token: str | None, refresh_token: str | None) -> dict[str, str]:
    """The base URL and, of `token` and `refresh_token`, those that are literals in the file's
    profile: what it holds for this run (the values a write back expects to replace)."""
    values = {"base_url": profile.base_url}
    for key, value in (("token", token), ("refresh_token", refresh_token)):
        if key in profile.file_literals and isinstance(value, str):
            values[key] = value
    return values
