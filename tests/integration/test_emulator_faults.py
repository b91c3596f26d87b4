"""Every fault switch, observed from a plain HTTP client over loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

from .emulator_sse import RawStream


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """The suite's `emulator` (seed 0, ids), with the fault switches over HTTP too: these tests
    drive them the way a shell drives `serve --faults`."""
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=True, fault_routes=True) as emu:
        yield emu


def sdk(emu: EmulatorHandle, env: str = "production") -> dict[str, str]:
    return {"X-API-Key": emu.credentials.keys[env]["sdk"]}


async def test_cut_streams_drops_every_connection_abruptly(emulator: EmulatorHandle) -> None:
    async with (
        RawStream(emulator.base_url, sdk(emulator)) as a,
        RawStream(emulator.base_url, sdk(emulator, "staging")) as b,
    ):
        assert await emulator.await_streams(2)
        emulator.faults.cut_streams()
        await a.wait_ended()
        await b.wait_ended()
    # The chunked body never ended: the client sees a protocol error, not a clean EOF.
    assert isinstance(a.error, httpx.RemoteProtocolError)
    assert isinstance(b.error, httpx.RemoteProtocolError)
    assert await emulator.await_streams(0)


async def test_cut_streams_clean_ends_the_response(emulator: EmulatorHandle) -> None:
    async with RawStream(emulator.base_url, sdk(emulator)) as stream:
        assert await emulator.await_streams(1)
        emulator.faults.cut_streams(clean=True)
        await stream.wait_ended()
    assert stream.error is None


async def test_cut_after_n_events(emulator: EmulatorHandle) -> None:
    async with RawStream(emulator.base_url, sdk(emulator)) as stream:
        assert await emulator.await_streams(1)
        emulator.faults.cut_after(2)
        for value in (False, True, False):
            emulator.world.update_flag("production", "new-dashboard", enabled=value)
        await stream.wait_ended()
    assert [e["_id"] for e in stream.events()] == ["1", "2"]
    assert isinstance(stream.error, httpx.RemoteProtocolError)
    # The third event waits in the ring for the reconnect.
    headers = {**sdk(emulator), "Last-Event-ID": "2"}
    async with RawStream(emulator.base_url, headers) as again:
        assert [e["_id"] for e in await again.wait_events(1)] == ["3"]


async def test_cut_after_mid_event_leaves_a_partial_event(emulator: EmulatorHandle) -> None:
    async with RawStream(emulator.base_url, sdk(emulator)) as stream:
        assert await emulator.await_streams(1)
        emulator.faults.cut_after(1, mid_event=True)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await stream.wait_ended()
    assert [e["_id"] for e in stream.events()] == ["1"]
    tail = bytes(stream.raw).split(b"\n\n")[-1]
    assert tail.startswith(b"id: 2") or tail.startswith(b": heartbeat\nid: 2")
    assert not bytes(stream.raw).endswith(b"\n\n")


async def test_stall_stops_all_writes_then_delivers(emulator: EmulatorHandle) -> None:
    async with RawStream(emulator.base_url, sdk(emulator)) as stream:
        await stream.wait(lambda: len(stream.heartbeat_times()) >= 1, what="a heartbeat")
        started = time.monotonic()
        emulator.faults.stall(0.8)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await stream.wait_events(1, timeout=5)
        first_byte_after = min(t for t, _ in stream.arrivals if t >= started)
    # Nothing at all (no heartbeat at 0.2 s cadence, no event) arrived during the stall.
    assert first_byte_after - started >= 0.6


async def test_emit_malformed_reaches_every_stream_with_an_id(emulator: EmulatorHandle) -> None:
    async with (
        RawStream(emulator.base_url, sdk(emulator)) as a,
        RawStream(
            emulator.base_url, {"Authorization": f"Bearer {emulator.credentials.org_token}"}
        ) as b,
    ):
        assert await emulator.await_streams(2)
        event_id = emulator.faults.emit_malformed("not json")
        for stream in (a, b):
            await stream.wait(lambda s=stream: len(s.blocks()) >= 1, what="malformed event")
            assert stream.blocks() == [{"id": str(event_id), "data": "not json"}]
    assert emulator.events_published == 0


async def test_forget_replay_is_a_restart(emulator: EmulatorHandle) -> None:
    emulator.world.update_flag("production", "new-dashboard", enabled=False)
    emulator.world.update_flag("production", "new-dashboard", enabled=True)
    emulator.faults.forget_replay()
    async with RawStream(emulator.base_url, {**sdk(emulator), "Last-Event-ID": "1"}) as stream:
        assert await emulator.await_streams(1)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        events = await stream.wait_events(1)
    # Event 2 is not replayed; ids continue at 3.
    assert [(e["_id"], e["flag_key"]) for e in events] == [("3", "checkout-v2")]


async def test_fail_next_answers_503_with_retry_after(emulator: EmulatorHandle) -> None:
    emulator.faults.fail_next(2, status=503, retry_after=2)
    async with httpx.AsyncClient(timeout=5) as client:
        url = emulator.base_url + "/api/v1/stream"
        for _ in range(2):
            response = await client.get(url, headers=sdk(emulator))
            assert response.status_code == 503
            assert response.headers["retry-after"] == "2"
            assert response.json()["code"] == "unavailable"
    async with RawStream(emulator.base_url, sdk(emulator)) as stream:
        assert stream.status == 200


async def test_revoke_key_closes_its_streams_and_then_401(emulator: EmulatorHandle) -> None:
    secret = emulator.credentials.keys["production"]["sdk"]
    other = emulator.credentials.keys["production"]["stream"]
    async with (
        RawStream(emulator.base_url, {"X-API-Key": secret}) as revoked,
        RawStream(emulator.base_url, {"X-API-Key": other}) as kept,
    ):
        assert await emulator.await_streams(2)
        assert emulator.faults.revoke_key(secret)
        await revoked.wait_ended()
        assert await emulator.await_streams(1)
        assert not kept.ended
    async with httpx.AsyncClient(timeout=5) as client:
        for method, path in (("GET", "/api/v1/stream"), ("POST", "/api/v1/evaluate")):
            response = await client.request(
                method,
                emulator.base_url + path,
                headers={"X-API-Key": secret},
                json={"flag_key": "new-dashboard", "environment_key": "production"},
            )
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized"
    assert secret not in emulator.credentials.keys["production"].values()


async def test_slow_client_is_cut_when_its_queue_overflows() -> None:
    from togul_monitor.emulator.harness import running_emulator

    with running_emulator(seed=0, heartbeat=0.2, max_pending=5) as emu:
        async with RawStream(emu.base_url, sdk(emu)) as stream:
            assert await emu.await_streams(1)
            emu.faults.stall(5)  # the stream writes nothing: a client that reads nothing
            for i in range(10):
                emu.world.update_flag("production", "new-dashboard", enabled=bool(i % 2))
            assert await emu.await_streams(0)  # dropped, not buffered without bound
            await stream.wait_ended()
        assert stream.events() == []


async def test_faults_over_http_for_a_standalone_server(emulator: EmulatorHandle) -> None:
    token = {"Authorization": f"Bearer {emulator.credentials.org_token}"}
    url = emulator.base_url + "/_emulator/faults/"
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.post(url + "cut-streams")).status_code == 401
        assert (await client.post(url + "explode", headers=token)).status_code == 404
        bad = await client.post(url + "stall", headers=token, json={"seconds": "long"})
        assert bad.status_code == 400 and bad.json()["code"] == "validation.seconds"
        unknown = await client.post(url + "revoke-key", headers=token, json={"secret": "x"})
        assert unknown.status_code == 404
        async with RawStream(emulator.base_url, sdk(emulator)) as stream:
            assert await emulator.await_streams(1)
            sent = await client.post(url + "emit-malformed", headers=token, json={"data": "{oops"})
            assert sent.status_code == 200
            await stream.wait(lambda: len(stream.blocks()) == 1, what="malformed event")
            assert stream.blocks()[0] == {"id": str(sent.json()["result"]), "data": "{oops"}
            cut = await client.post(url + "cut-streams", headers=token)
            assert cut.json() == {"fault": "cut-streams", "result": None}
            await stream.wait_ended()
        failing = await client.post(
            url + "fail-next", headers=token, json={"k": 1, "status": 500, "retry_after": None}
        )
        assert failing.status_code == 200
        response = await client.get(emulator.base_url + "/api/v1/stream", headers=sdk(emulator))
        assert response.status_code == 500 and "retry-after" not in response.headers
