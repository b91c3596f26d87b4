"""`togul-monitor serve` as a real process: banner, heartbeats, a PATCH seen as one event on
the entitled stream only, `--state`, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from togul_monitor.emulator.harness import make_world
from togul_monitor.emulator.statefile import dump_state

from ..processes import with_default_sigint
from .emulator_sse import RawStream


class ServeProcess:
    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "togul_monitor", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=with_default_sigint,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.01)
        raise AssertionError(f"no line matching {pattern!r} in {self.lines!r}")

    def secret(self, env: str, scope: str) -> str:
        start = next(i for i, line in enumerate(self.lines) if line.startswith(f"  {env} ("))
        for line in self.lines[start + 1 :]:
            parts = line.split()
            if parts and parts[0] == scope:
                return parts[1]
        raise AssertionError(f"no {scope} key for {env}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=5)


@pytest.fixture
def serve() -> Iterator[type[ServeProcess]]:
    started: list[ServeProcess] = []

    class Tracked(ServeProcess):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(timeout=5)


async def test_serve_streams_heartbeats_and_patches(serve: type[ServeProcess]) -> None:
    server = serve("--heartbeat", "0.1", "--seed", "0")
    base_url = server.wait_line(r"listening on (http://\S+)").group(1)
    server.wait_line("Ctrl-C stops the server")
    token = server.wait_line(r"org token\s+(\S+)").group(1)
    project_id = server.wait_line(r"project id\s+(\S+)").group(1)
    expected = make_world(seed=0).credentials
    assert server.secret("production", "sdk") == expected.keys["production"]["sdk"]
    async with (
        RawStream(base_url, {"X-API-Key": server.secret("production", "sdk")}) as prod,
        RawStream(base_url, {"X-API-Key": server.secret("staging", "stream")}) as staging,
    ):
        await prod.wait(lambda: len(prod.heartbeat_times()) >= 2, what="heartbeats")
        await staging.wait(lambda: len(staging.heartbeat_times()) >= 1, what="heartbeats")
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=5
        ) as api:
            flags = (await api.get(f"/api/v1/projects/{project_id}/flags")).json()["flags"]
            target = next(
                f
                for f in flags
                if f["key"] == "new-dashboard"
                and f["environment_id"] == expected.environment_ids["production"]
            )
            response = await api.patch(
                f"/api/v1/projects/{project_id}/flags/{target['id']}", json={"enabled": False}
            )
            assert response.status_code == 200
        events = await prod.wait_events(1)
        # A heartbeat on the staging stream after the PATCH shows it had its chance.
        count = len(staging.heartbeat_times())
        await staging.wait(lambda: len(staging.heartbeat_times()) > count + 1, what="heartbeat")
    assert [(e["type"], e["flag_key"]) for e in events] == [("flag.updated", "new-dashboard")]
    assert staging.blocks() == []
    server.wait_line(r"flag\.updated\s+production\s+new-dashboard\s+v2")
    assert server.stop() == 0


def test_serve_loads_a_state_file(serve: type[ServeProcess], tmp_path: Path) -> None:
    world = make_world(seed=9)
    world.create_flag("production", "from-state", value_type="string", default_value="yes")
    path = tmp_path / "world.json"
    path.write_text(json.dumps(dump_state(world)), encoding="utf-8")
    server = serve("--state", str(path), "--quiet")
    base_url = server.wait_line(r"listening on (http://\S+)").group(1)
    server.wait_line("Ctrl-C stops the server")
    secret = server.secret("production", "server")
    assert secret == world.credentials.keys["production"]["server"]
    response = httpx.post(
        base_url + "/api/v1/evaluate",
        headers={"X-API-Key": secret},
        json={"flag_key": "from-state", "environment_key": "production"},
        timeout=5,
    )
    assert response.json()["value"] == "yes"
    assert server.stop() == 0


def test_serve_rejects_a_bad_state_file(serve: type[ServeProcess], tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"environments": []}', encoding="utf-8")
    server = serve("--state", str(path))
    assert server.proc.wait(timeout=10) == 2
    assert server.proc.stderr is not None
    assert "environments" in server.proc.stderr.read()


def test_serve_simulates_and_stops_cleanly_on_ctrl_c(serve: type[ServeProcess]) -> None:
    server = serve("--simulate", "50", "--seed", "4")
    server.wait_line(r"#3\s")  # three simulated changes logged
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 3


async def test_serve_sends_the_documented_form_unless_asked_for_ids(
    serve: type[ServeProcess],
) -> None:
    for args, with_ids in (((), False), (("--ids", "--replay", "1"), True)):
        server = serve("--seed", "0", "--quiet", "--heartbeat", "0.1", *args)
        base_url = server.wait_line(r"listening on (http://\S+)").group(1)
        form = server.wait_line(r"stream\s+(.*)").group(1)
        assert ("the documented form" in form) is not with_ids
        server.wait_line("Ctrl-C stops the server")
        token = server.wait_line(r"org token\s+(\S+)").group(1)
        project_id = server.wait_line(r"project id\s+(\S+)").group(1)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=5) as api:
            flags = (await api.get(f"/api/v1/projects/{project_id}/flags")).json()["flags"]
            for flag in flags[:2]:  # two changes before anyone listens
                path = f"/api/v1/projects/{project_id}/flags/{flag['id']}"
                assert (await api.patch(path, json={"enabled": False})).status_code == 200
        # A resume after the first: with ids, the second (the one event --replay 1 keeps) comes
        # back; without, a Last-Event-ID is ignored.
        async with RawStream(base_url, {**headers, "Last-Event-ID": "1"}) as stream:
            if with_ids:
                replayed = await stream.wait_events(1)
            else:
                await stream.wait(lambda: len(stream.heartbeat_times()) >= 1, what="heartbeat")
                replayed = stream.events()
            raw = bytes(stream.raw)
        assert server.stop() == 0
        if with_ids:
            assert [e["_id"] for e in replayed] == ["2"]
            assert raw.startswith(b"retry: 1000\n")
        else:
            assert replayed == [] and b"retry:" not in raw
