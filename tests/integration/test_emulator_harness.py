"""The harness: start, stop under a second with open streams, simulation, free ports."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from togul_monitor.emulator import harness
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

from .emulator_sse import RawStream


async def test_leaving_the_block_closes_open_streams_fast() -> None:
    block = running_emulator(seed=0, heartbeat=0.2)
    emu = block.__enter__()
    headers = {"X-API-Key": emu.credentials.keys["production"]["sdk"]}
    async with RawStream(emu.base_url, headers) as a, RawStream(emu.base_url, headers) as b:
        assert await emu.await_streams(2)
        started = time.monotonic()
        block.__exit__(None, None, None)
        elapsed = time.monotonic() - started
        await a.wait_ended()
        await b.wait_ended()
    assert elapsed < 1.0
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.base_url + "/healthz", timeout=1)


def test_two_emulators_get_two_free_ports() -> None:
    with running_emulator(seed=0) as one, running_emulator(seed=0) as two:
        assert one.port != two.port
        assert httpx.get(one.base_url + "/healthz", timeout=5).status_code == 200
        assert httpx.get(two.base_url + "/readyz", timeout=5).status_code == 200
        # Same seed, same credentials: tests and snapshots depend on it.
        assert one.credentials == two.credentials


async def test_simulation_publishes_across_both_environments() -> None:
    # Ids: the order of the events is checked by their ids.
    with running_emulator(seed=0, heartbeat=0.2, simulate=200.0, ids=True) as emu:
        headers = {"Authorization": f"Bearer {emu.credentials.org_token}"}
        async with RawStream(emu.base_url, headers) as stream:
            events = await stream.wait_events(30)
    envs = {e["environment_id"] for e in events}
    assert envs == set(emu.credentials.environment_ids.values())
    ids = [int(e["_id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_busy_port_is_reported() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(OSError), running_emulator(port=port):
            pass


async def test_the_demo_serves_the_documented_stream_form(monkeypatch: pytest.MonkeyPatch) -> None:
    from togul_monitor import demo

    monkeypatch.setattr(demo, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(demo, "SIMULATE_EVENTS_PER_SECOND", 40.0)
    demo.shutdown()
    try:
        with demo.demo_session() as server:
            assert server.handle.ids is False
            headers = {"X-API-Key": server.sdk_keys["production"], "Last-Event-ID": "0"}
            async with RawStream(server.base_url, headers) as stream:
                events = await stream.wait_events(2)
                raw = bytes(stream.raw)
    finally:
        demo.shutdown()
    assert [e["_id"] for e in events] == [None, None]
    assert b"id:" not in raw and b"retry:" not in raw


def test_a_deferred_server_answers_what_waited_once_it_may_serve() -> None:
    go = threading.Event()
    with running_emulator(seed=0, serve_after=go) as emu, ThreadPoolExecutor(1) as pool:
        # The socket listens already: the request waits in its backlog, unanswered.
        answer = pool.submit(httpx.get, emu.base_url + "/healthz", timeout=10)
        assert not emu.serving and not answer.done()
        go.set()
        assert answer.result(timeout=10).status_code == 200
        assert emu.serving


def test_a_deferred_server_stopped_before_it_served_ends_its_thread() -> None:
    go = threading.Event()
    with running_emulator(seed=0, serve_after=go) as emu:
        server = emu._server
        assert server is not None and server.thread.is_alive()
    assert go.is_set()  # released for good: the thread does not serve after the block
    server.thread.join(timeout=5)
    assert not server.thread.is_alive() and not emu.serving


@contextlib.contextmanager
def serving_with(
    monkeypatch: pytest.MonkeyPatch, make_server: Callable[[harness._ServerThread], object]
) -> Iterator[tuple[EmulatorHandle, harness._ServerThread]]:
    """A deferred emulator whose server is built by `make_server`, told to serve at once."""
    monkeypatch.setattr(harness._ServerThread, "_make_server", make_server)
    go = threading.Event()
    with running_emulator(seed=0, serve_after=go) as emu:
        server = emu._server
        assert server is not None
        go.set()
        yield emu, server


def test_a_deferred_server_that_fails_to_start_refuses_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: object) -> None:
        raise RuntimeError("no server today")

    with serving_with(monkeypatch, broken) as (emu, server):
        server.thread.join(timeout=5)
        assert isinstance(server.error, RuntimeError) and not emu.serving
        with pytest.raises(httpx.ConnectError):  # at once, not after a read timeout
            httpx.get(emu.base_url + "/healthz", timeout=30)


def test_a_deferred_server_stopped_while_it_loads_never_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_server = harness._ServerThread._make_server
    loading = threading.Event()

    def slow(self: harness._ServerThread) -> object:
        loading.set()
        # Still loading when the block has ended: its wait for the thread ran out (2 s) and
        # its socket is closed.
        deadline = time.monotonic() + 10
        while self.sock.fileno() != -1 and time.monotonic() < deadline:
            time.sleep(0.005)
        return make_server(self)

    with serving_with(monkeypatch, slow) as (emu, server):
        assert loading.wait(5)
    server.thread.join(timeout=5)
    assert not server.thread.is_alive() and server.error is None and not emu.serving
