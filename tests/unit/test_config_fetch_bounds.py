"""Configuration fetches against a hostile or refusing server (core/configs.py,
core/config_ids.py): a refused token stops the fetching at once, and a key named on every
event cannot keep the listings that learn flag ids from being used."""

from __future__ import annotations

import asyncio

import pytest

from togul_monitor.client.management import ManagementError
from togul_monitor.core import config_ids
from togul_monitor.core.configs import FlagConfigs
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import FlagConfig, parse_flag

from ..waits import until


def config(flag_id: str, key: str) -> FlagConfig:
    flag = {"id": flag_id, "key": key, "environment_id": "env", "enabled": True, "name": key}
    flag |= {"value_type": "boolean", "default_value": False, "version": 1}
    return parse_flag({"flag": flag, "rules": []})


class Refusing:
    requests = 0

    def __init__(self) -> None:
        self.fetches = 0

    async def fetch_flag(self, flag_id: str) -> FlagConfig:
        self.fetches += 1
        await asyncio.sleep(0)
        raise ManagementError("HTTP 403 forbidden", 403)

    async def list_flags(self, environment_id: str) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        pass


async def test_a_refused_token_drops_what_waits_instead_of_asking_for_each() -> None:
    reader = Refusing()
    configs = FlagConfigs(lambda update: None, lambda: 0.0)
    configs.configure(reader, "env", {f"k{i}": f"id{i}" for i in range(500)}, concurrency=8)  # type: ignore[arg-type]
    configs.start()
    await until(lambda: configs.state.startswith("failed"))
    await until(configs.idle)
    await asyncio.sleep(0)  # let the answers already on their way come back
    assert reader.fetches <= 16, reader.fetches  # those in flight, not all 500
    await configs.aclose()


class Listing:
    requests = 0

    def __init__(self) -> None:
        self.lists = 0

    async def fetch_flag(self, flag_id: str) -> FlagConfig:
        return config(flag_id, flag_id.removeprefix("id-"))

    async def list_flags(self, environment_id: str) -> dict[str, str]:
        self.lists += 1
        await asyncio.sleep(0.02)  # events keep arriving while it is on its way
        return {"other": "id-other"}

    async def aclose(self) -> None:
        pass


async def test_a_key_named_on_every_event_cannot_starve_the_listings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config_ids, "LIST_EVERY", 0.05)
    reader = Listing()
    configs = FlagConfigs(lambda update: None, lambda: 0.0)
    configs.configure(reader, "env", {})  # type: ignore[arg-type]
    configs.start()
    configs.on_events([FlagEvent("flag.created", "other", "env", 1, 0.0, None, 0.0)])
    stop = asyncio.Event()

    async def ghost() -> None:  # a key no listing has, evented every 5 ms
        version = 1
        while not stop.is_set():
            version += 1
            configs.on_events([FlagEvent("rule.updated", "ghost", "env", version, 0.0, None, 0.0)])
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ghost())
    try:
        await until(lambda: "other" in configs.configs)
        assert not stop.is_set() and not task.done()  # learnt while the ghost goes on
        assert "ghost" not in configs.ids
    finally:
        stop.set()
        await task
        await configs.aclose()
