"""`togul-monitor web`: the TUI served to a browser by textual-serve, as real processes.

The demo in a real headless Chromium (skipped when none is installed): the page's terminal
receives the live feed's rows, and SIGTERM ends the server and its session. A saved profile over
a plain websocket (what the page opens): the session runs the TUI on that profile by name, its
key on no command line and not in the page; another site's page gets no session. The host
check, in process.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.config.paths import profiles_file
from togul_monitor.emulator.harness import EmulatorHandle

from .web_browser import (
    FEED_ROW,
    WebProcess,
    alive,
    children_of,
    chromium_path,
    free_port,
    headless_page,
    wait_for,
)

BROWSER = chromium_path()


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def _session_pids(web: WebProcess) -> list[int]:
    """The server's session processes: the TUIs it started, one per browser session."""
    return [pid for pid in children_of(web.proc.pid) if "togul_monitor" in _cmdline(pid)]


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install chromium)")
async def test_demo_page_shows_the_live_feed_in_a_real_browser(tmp_path: Path) -> None:
    assert BROWSER is not None
    web = WebProcess("--demo")
    try:
        url = web.url()
        assert url == f"http://127.0.0.1:{web.port}/"
        async with headless_page(BROWSER, tmp_path / "chromium") as (page, _):
            await page.call("Page.navigate", url=url)
            web.wait_line(r"session 1 opened from 127\.0\.0\.1 \(1 open\)", err=True)
            # A row of the feed: the demo's simulated changes, streamed, painted by the TUI and
            # sent to the page, in the demo profile's view.
            row = await page.wait_text(FEED_ROW, timeout=20)
            text = page.terminal_text()
            assert "demo-production" in text and "live feed" in text, text[-2000:]
            # The page wrote what it received into its terminal (textual.js marks the body).
            body = await page.call(
                "Runtime.evaluate", expression="document.body.className", returnByValue=True
            )
            assert "-first-byte" in body["result"]["value"]
            sessions = _session_pids(web)
            assert len(sessions) == 1, sessions
            assert _cmdline(sessions[0])[1:] == ["-m", "togul_monitor", "--demo"]
            # SIGTERM with the page still open: the session is asked to quit and the server
            # exits by itself, leaving no process behind.
            web.proc.send_signal(signal.SIGTERM)
            assert web.proc.wait(timeout=12) == 0, web.err
            assert not alive(sessions[0]), f"session {sessions[0]} outlived the server"
            web.wait_line(r"session 1 closed \(0 open\)", err=True, timeout=1)
            assert re.match(r"\d\d:\d\d:\d\d ", row.group())
    finally:
        web.kill()


def _write_profile(emu: EmulatorHandle, key: str) -> None:
    path = profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'default_profile = "team"\n\n[profiles.team]\n'
        f'base_url = "{emu.base_url}"\nenvironment_key = "production"\napi_key = "{key}"\n'
    )
    path.chmod(0o600)


async def _receive_until(ws: aiohttp.ClientWebSocketResponse, pattern: str, timeout: float) -> str:
    """The session's terminal output (escape sequences kept) until it holds `pattern`."""
    received = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not re.search(pattern.encode(), received):
        message = await asyncio.wait_for(ws.receive(), max(0.01, deadline - loop.time()))
        if message.type == aiohttp.WSMsgType.BINARY:
            received += message.data
        elif message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"websocket ended ({message.type}) before {pattern!r}")
    return received.decode("utf-8", "replace")


async def test_a_session_opens_the_profile_by_name_never_its_key(emulator: EmulatorHandle) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    _write_profile(emulator, key)
    web = WebProcess()  # no --profile: the default one, resolved once at start
    try:
        url = web.url()
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as answer:
                page = await answer.text()
            assert "togul-monitor · profile team" in page
            assert key not in page
            ws_url = url.replace("http://", "ws://") + "ws?width=100&height=30"
            # Another site's page in a browser on this machine may open a websocket to
            # 127.0.0.1 too: refused before any session starts.
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(ws_url, origin="http://evil.example")
            assert refused.value.status == 403
            web.wait_line(r"refused a session for a page of http://evil\.example", err=True)
            assert _session_pids(web) == []
            async with http.ws_connect(ws_url) as ws:
                # The TUI's header names the profile once its session has started.
                await _receive_until(ws, "team", timeout=20)
                sessions = _session_pids(web)
                assert len(sessions) == 1, sessions
                argv = _cmdline(sessions[0])
                assert argv[1:] == ["-m", "togul_monitor", "--profile", "team"]
                assert not any(key in arg for arg in argv)
            # The browser went away: its session ends, the server stays.
            wait_for(lambda: not alive(sessions[0]), 10, "the session to end with its page")
            web.wait_line(r"session 1 closed \(0 open\)", err=True, timeout=5)
            assert web.proc.poll() is None
    finally:
        web.kill()


def test_a_remote_host_needs_allow_remote() -> None:
    result = CliRunner().invoke(cli, ["web", "--demo", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "0.0.0.0 is not a loopback address" in result.output
    assert "--allow-remote" in result.output


def test_allow_remote_warns_and_prints_a_url_a_browser_can_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from aiohttp import web as aiohttp_web

    served: dict[str, Any] = {}

    def run_app(app: Any, **options: Any) -> None:
        # Stands in for aiohttp's loop: records where it would listen, announces as aiohttp
        # does once bound, and returns as after a Ctrl-C.
        app.close()  # the coroutine that builds textual-serve's app: not needed here
        served.update(options)
        options["print"]("======== Running ========")

    monkeypatch.setattr(aiohttp_web, "run_app", run_app)
    result = CliRunner().invoke(
        cli, ["web", "--demo", "--host", "0.0.0.0", "--port", "8123", "--allow-remote"]
    )
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0 with no authentication" in result.output
    assert served["host"] == "0.0.0.0" and served["port"] == 8123
    assert f"http://{socket.gethostname()}:8123/" in result.output


async def test_under_allow_remote_only_the_public_url_s_page_opens_a_session() -> None:
    # DNS rebinding: a site makes its own name resolve to this server; its page then sends
    # `Origin: http://its-name:PORT` with `Host: its-name:PORT`. The Host header proves
    # nothing: only the public URL's page may open a session.
    port = free_port()
    public = f"http://monitor.example:{port}"
    web = WebProcess(
        "--demo", "--host", "0.0.0.0", "--allow-remote", "--public-url", public, port=port
    )
    try:
        assert web.url() == f"{public}/"
        ws_url = f"ws://127.0.0.1:{port}/ws?width=80&height=24"
        async with aiohttp.ClientSession() as http:
            rebound = f"rebound.example:{port}"
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(ws_url, origin=f"http://{rebound}", headers={"Host": rebound})
            assert refused.value.status == 403
            web.wait_line(r"refused a session for a page of http://rebound\.example", err=True)
            assert _session_pids(web) == []
    finally:
        web.kill()
