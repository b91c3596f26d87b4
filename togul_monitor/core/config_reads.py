"""The flags' configurations as last read (core/configs.py), when each was read, and the
read-only copies other threads take of both (the monitor's snapshot).

A read's time is when its request was sent: the answer reflects the flag at some moment after
it, so an event received before then is in the answer, and one received after may not be. While
the server refuses the token nothing is read: the inventory says how long ago the last read
was, and marks a flag whose last event came after its own read (ui/view/inventory.py): the
configuration it shows is older than that change.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from togul_monitor.domain.flag_config import FlagConfig


class ReadTimes(msgspec.Struct, frozen=True):
    """When the configurations were read: each flag's (key → when its snapshot was asked
    for), and the newest of them (None: nothing read yet)."""

    at: Mapping[str, float] = msgspec.field(default_factory=dict)
    latest: float | None = None


class ConfigReads:
    def __init__(self) -> None:
        self.configs: dict[str, FlagConfig] = {}  # key → the last snapshot
        self.read_at: dict[str, float] = {}  # key → when its snapshot was asked for
        self.latest: float | None = None  # when the newest snapshot was asked for
        self.version = 0  # grows with every change of `configs`
        self._copies: tuple[Mapping[str, FlagConfig], ReadTimes] = (
            MappingProxyType({}),
            ReadTimes(),
        )
        self._copy_version = 0

    def read(self, key: str, config: FlagConfig, asked_at: float) -> FlagConfig | None:
        """`config` was read for `key`, asked for at `asked_at`: the snapshot it replaces."""
        before = self.configs.get(key)
        self.configs[key] = config
        self.read_at[key] = asked_at
        if self.latest is None or asked_at > self.latest:
            self.latest = asked_at
        self.version += 1
        return before

    def forget(self, key: str) -> FlagConfig | None:
        """The flag is gone: its snapshot, if there was one."""
        self.read_at.pop(key, None)
        before = self.configs.pop(key, None)
        if before is not None:
            self.version += 1
        return before

    def copies(self) -> tuple[Mapping[str, FlagConfig], ReadTimes]:
        """Read-only copies of the snapshots and their read times, made again only after a
        change (one per read: never per look of a reader)."""
        if self._copy_version != self.version:
            self._copies = (
                MappingProxyType(dict(self.configs)),
                ReadTimes(MappingProxyType(dict(self.read_at)), self.latest),
            )
            self._copy_version = self.version
        return self._copies
