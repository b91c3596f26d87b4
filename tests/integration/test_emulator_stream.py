"""The emulator's stream endpoint over a real loopback socket: framing, auth, the six event
types, environment isolation, replay and heartbeats."""

from __future__ import annotations

import json

import httpx
import pytest

from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.protocol import EVENT_FIELDS

from .emulator_sse import RawStream


def sdk(emu: EmulatorHandle, env: str = "production", scope: str = "sdk") -> dict[str, str]:
    return {"X-API-Key": emu.credentials.keys[env][scope]}


def bearer(emu: EmulatorHandle) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.credentials.org_token}"}


async def test_framing_is_byte_exact(emulator: EmulatorHandle) -> None:
    async with RawStream(emulator.base_url, sdk(emulator)) as stream:
        assert stream.status == 200
        headers = stream.response_headers
        assert headers is not None
        assert headers["content-type"] == "text/event-stream"
        assert headers["cache-control"] == "no-cache"
        assert headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in headers
        assert await emulator.await_streams(1)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await stream.wait_events(1)
        raw = bytes(stream.raw)
    env_id = emulator.credentials.environment_ids["production"]
    assert raw.startswith(b"retry: 1000\n")
    assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf")
    frame = raw[raw.index(b"id: ") :]
    frame = frame[: frame.index(b"\n\n") + 2]
    header, data_line, blank = frame.split(b"\n", 2)
    assert header == b"id: 1"
    assert blank == b"\n"
    payload = json.loads(data_line.removeprefix(b"data: "))
    assert list(payload) == list(EVENT_FIELDS)
    assert payload["type"] == "flag.updated"
    assert payload["flag_key"] == "new-dashboard"
    assert payload["environment_id"] == env_id
    assert payload["version"] == 2  # the flag's own version: created at 1, updated once
    assert isinstance(payload["timestamp"], int)


async def test_six_event_types_from_their_mutations(emulator: EmulatorHandle) -> None:
    world = emulator.world
    async with RawStream(emulator.base_url, sdk(emulator)) as stream:
        assert await emulator.await_streams(1)
        world.create_flag("production", "promo-banner", value_type="string", default_value="off")
        world.update_flag("production", "promo-banner", default_value="on")
        rule = world.create_rule(
            "production",
            "promo-banner",
            rule_type="percentage",
            rollout_percentage=10,
            return_value="on",
        )
        world.update_rule("production", "promo-banner", rule.id, rollout_percentage=20)
        world.delete_rule("production", "promo-banner", rule.id)
        world.delete_flag("production", "promo-banner")
        events = await stream.wait_events(6)
    assert [e["type"] for e in events] == [
        "flag.created",
        "flag.updated",
        "rule.created",
        "rule.updated",
        "rule.deleted",
        "flag.deleted",
    ]
    assert {e["flag_key"] for e in events} == {"promo-banner"}
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e["_id"] for e in events] == ["1", "2", "3", "4", "5", "6"]


async def test_environment_isolation_and_bearer_sees_all(emulator: EmulatorHandle) -> None:
    world = emulator.world
    async with (
        RawStream(emulator.base_url, sdk(emulator, "production")) as prod,
        RawStream(emulator.base_url, sdk(emulator, "staging", "stream")) as staging,
        RawStream(emulator.base_url, bearer(emulator)) as org,
    ):
        assert await emulator.await_streams(3)
        world.update_flag("staging", "new-dashboard", enabled=False)
        world.update_flag("production", "checkout-v2", enabled=False)
        world.update_flag("staging", "checkout-v2", enabled=False)
        all_events = await org.wait_events(3)
        await staging.wait_events(2)
        await prod.wait_events(1)
        # A marker after everything: once it arrives, nothing else is in flight.
        world.update_flag("production", "dark-mode", enabled=False)
        await prod.wait_events(2)
    ids = emulator.credentials.environment_ids
    assert [(e["flag_key"], e["environment_id"]) for e in prod.events()] == [
        ("checkout-v2", ids["production"]),
        ("dark-mode", ids["production"]),
    ]
    assert [e["environment_id"] for e in staging.events()] == [ids["staging"]] * 2
    assert [e["_id"] for e in all_events] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"X-API-Key": "tgl_sdk_doesnotexist"}, 401, "unauthorized"),
        ({"Authorization": "Bearer not-a-token"}, 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, 401, "unauthorized"),
        ("server", 403, "forbidden"),
    ],
)
async def test_stream_rejects_bad_credentials(
    emulator: EmulatorHandle, headers: dict[str, str] | str, status: int, code: str
) -> None:
    if headers == "server":
        headers = sdk(emulator, "production", "server")
    assert isinstance(headers, dict)
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(emulator.base_url + "/api/v1/stream", headers=headers)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"]


@pytest.mark.parametrize("scope", ["sdk", "stream"])
async def test_stream_accepts_sdk_and_stream_keys(emulator: EmulatorHandle, scope: str) -> None:
    async with RawStream(emulator.base_url, sdk(emulator, "staging", scope)) as stream:
        assert stream.status == 200
        await stream.wait(lambda: b"retry: 1000\n" in stream.raw, what="retry line")


async def test_replay_from_last_event_id_sends_exactly_the_missed_events(
    emulator: EmulatorHandle,
) -> None:
    world = emulator.world
    async with RawStream(emulator.base_url, sdk(emulator)) as first:
        assert await emulator.await_streams(1)
        world.update_flag("production", "new-dashboard", enabled=False)
        world.update_flag("staging", "new-dashboard", enabled=False)  # not ours
        world.update_flag("production", "checkout-v2", enabled=False)
        seen = await first.wait_events(2)
    last_id = seen[-1]["_id"]
    assert last_id == "3"
    # While nobody listens: recorded in the ring.
    world.update_flag("production", "dark-mode", enabled=False)
    world.update_flag("staging", "dark-mode", enabled=False)
    world.update_flag("production", "beta-search", enabled=False)
    headers = {**sdk(emulator), "Last-Event-ID": last_id}
    async with RawStream(emulator.base_url, headers) as second:
        assert await emulator.await_streams(1)
        replayed = await second.wait_events(2)
        world.update_flag("production", "legacy-export", enabled=False)
        events = await second.wait_events(3)
    assert [(e["_id"], e["flag_key"]) for e in events] == [
        ("4", "dark-mode"),
        ("6", "beta-search"),
        ("7", "legacy-export"),
    ]
    assert replayed[:2] == events[:2]


async def test_replay_limit_and_unknown_ids_replay_nothing() -> None:
    with running_emulator(seed=0, heartbeat=0.2, replay=3, ids=True) as emu:
        for value in (False, True, False, True, False):  # ids 1..5; the ring keeps 3..5
            emu.world.update_flag("production", "new-dashboard", enabled=value)
        for last_id, expected in [("2", ["3", "4", "5"]), ("4", ["5"])]:
            headers = {**sdk(emu), "Last-Event-ID": last_id}
            async with RawStream(emu.base_url, headers) as stream:
                events = await stream.wait_events(len(expected))
                assert [e["_id"] for e in events] == expected
        for too_old in ("1", "0", "999", "not-a-number"):
            headers = {**sdk(emu), "Last-Event-ID": too_old}
            async with RawStream(emu.base_url, headers) as stream:
                assert await emu.await_streams(1)
                emu.world.update_flag("production", "checkout-v2", enabled=False)
                events = await stream.wait_events(1)
            assert [e["flag_key"] for e in events] == ["checkout-v2"], too_old
            assert await emu.await_streams(0)


async def test_replay_zero_turns_replay_off() -> None:
    with running_emulator(seed=0, heartbeat=0.2, replay=0, ids=True) as emu:
        emu.world.update_flag("production", "new-dashboard", enabled=False)
        emu.world.update_flag("production", "new-dashboard", enabled=True)
        async with RawStream(emu.base_url, {**sdk(emu), "Last-Event-ID": "1"}) as stream:
            assert await emu.await_streams(1)
            emu.world.update_flag("production", "checkout-v2", enabled=False)
            events = await stream.wait_events(1)
    assert [e["_id"] for e in events] == ["3"]


async def test_heartbeat_cadence() -> None:
    with running_emulator(seed=0, heartbeat=0.1) as emu:
        async with RawStream(emu.base_url, sdk(emu)) as stream:
            await stream.wait(lambda: len(stream.heartbeat_times()) >= 6, what="6 heartbeats")
            times = stream.heartbeat_times()
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Generous bounds: this checks the cadence is the configured one, not scheduler jitter.
    assert all(0.03 < gap < 0.6 for gap in gaps), gaps
    assert 0.05 < sum(gaps) / len(gaps) < 0.3, gaps
    assert b": heartbeat\n\n" not in bytes(stream.raw)  # a lone comment line, no blank line


async def test_the_default_is_the_bare_documented_form_and_ignores_last_event_id() -> None:
    with running_emulator(seed=0, heartbeat=0.2) as emu:
        assert emu.ids is False
        emu.world.update_flag("production", "checkout-v2", enabled=False)  # before the stream
        # A Last-Event-ID is ignored: no replay without ids.
        async with RawStream(emu.base_url, {**sdk(emu), "Last-Event-ID": "0"}) as stream:
            assert await emu.await_streams(1)
            emu.world.update_flag("production", "new-dashboard", enabled=False)
            events = await stream.wait_events(1)
            raw = bytes(stream.raw)
    assert [(e["flag_key"], e["_id"]) for e in events] == [("new-dashboard", None)]
    assert b"retry:" not in raw and b"id:" not in raw
    assert raw.lstrip(b": heartbeat\n").startswith(b'data: {"type":"flag.updated"')


async def test_ids_true_adds_ids_retry_and_replay() -> None:
    with running_emulator(seed=0, heartbeat=0.2, ids=True) as emu:
        emu.world.update_flag("production", "checkout-v2", enabled=False)
        async with RawStream(emu.base_url, {**sdk(emu), "Last-Event-ID": "0"}) as stream:
            events = await stream.wait_events(1)
            raw = bytes(stream.raw)
    assert [(e["flag_key"], e["_id"]) for e in events] == [("checkout-v2", "1")]
    assert raw.startswith(b"retry: 1000\n")


async def test_events_recorded_while_nobody_listens_reach_bearer_replay(
    emulator: EmulatorHandle,
) -> None:
    emulator.world.update_flag("staging", "new-dashboard", enabled=False)
    emulator.world.update_flag("production", "new-dashboard", enabled=False)
    headers = {**bearer(emulator), "Last-Event-ID": "0"}
    async with RawStream(emulator.base_url, headers) as stream:
        events = await stream.wait_events(2)
    assert [e["_id"] for e in events] == ["1", "2"]
    assert emulator.events_published == 2
