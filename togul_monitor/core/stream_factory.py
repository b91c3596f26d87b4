"""What a monitor reads its stream from: the stream client, or any object with its shape.

Tests and benchmarks give the monitor a factory of their own (a scripted stream); the default
connects a `StreamClient` (client/stream.py) with the profile's read timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

from togul_monitor.client.outages import ResumePoint
from togul_monitor.config.entry import DEFAULT_HEARTBEAT_SECONDS
from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import StreamCounters, StreamItem


class StreamLike(Protocol):
    counters: StreamCounters

    def batches(self) -> AsyncIterator[list[StreamItem]]: ...

    def restart(self) -> None: ...

    async def aclose(self) -> None: ...


class StreamFactory(Protocol):
    def __call__(
        self,
        profile: Profile,
        *,
        api_key: str | None,
        token: str | None,
        clock: Callable[[], float],
        resumed: ResumePoint | None = None,
    ) -> StreamLike: ...


def default_stream_factory(
    profile: Profile,
    *,
    api_key: str | None,
    token: str | None,
    clock: Callable[[], float],
    resumed: ResumePoint | None = None,
) -> StreamLike:
    from togul_monitor.client.stream import StreamClient

    # Three missed heartbeats mean the connection is dead (see docs/stream-client.md).
    return StreamClient(
        profile.base_url,
        api_key=api_key,
        token=token,
        read_timeout=read_timeout(profile),
        clock=clock,
        resumed=resumed,
        allow_insecure=profile.allow_insecure,
        silence_hint=silence_hint(profile),
    )


def read_timeout(profile: Profile) -> float:
    """The stream client's read timeout for `profile`: three of its heartbeats, 1 s at least."""
    return max(profile.read_timeout, 1.0)


def silence_hint(profile: Profile) -> str:
    """What a read timeout adds when no heartbeat came on its connection and the read timeout
    (three of the profile's heartbeats) is shorter than Togul's heartbeat interval: every quiet
    spell then ends the stream, and the fix was nowhere said. None for the demo's profiles,
    whose emulator's heartbeat is theirs."""
    timeout = read_timeout(profile)
    if profile.builtin or timeout >= DEFAULT_HEARTBEAT_SECONDS:
        return ""
    return (
        f"no heartbeat came: the read timeout, {timeout:g} s (3 x heartbeat_seconds), is "
        f"shorter than Togul's heartbeat interval, {DEFAULT_HEARTBEAT_SECONDS:g} s"
    )
