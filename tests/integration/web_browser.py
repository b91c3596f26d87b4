"""`togul-monitor web` as a real process, and a real headless Chromium driven over the Chrome
DevTools protocol: for tests/integration/test_web.py and scripts/screenshot_web.py.

textual-serve draws the terminal with xterm.js on a canvas, so the page's DOM holds no text.
What the browser *received* does: the DevTools protocol reports every websocket frame the page
gets (`Network.webSocketFrameReceived`), and those frames are the TUI's terminal output, which
the page writes into xterm.js. Stripped of escape sequences they hold the rows as painted.

Every process is started in a session of its own and killed by its process group when done:
the server's group holds its browser sessions (textual-serve starts them in it), Chromium's its
helpers (zygote, renderer, GPU).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

# CSI (colours, cursor moves), OSC (titles, clipboard) and the two-byte escapes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
# A row of the live feed: `HH:MM:SS <event type> <flag key>` (ui/view/feed_layout.py).
FEED_ROW = re.compile(r"\d\d:\d\d:\d\d (?:flag|rule)\.(?:created|updated|deleted) [a-z0-9][\w.-]*")


def chromium_path() -> str | None:
    """Debian's `chromium`, or the name other systems give it; None when none is installed."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """Kill `proc` and everything in its process group (it leads one: start_new_session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


class WebProcess:
    """`python -m togul_monitor web ARGS --port PORT`, its output collected line by line."""

    def __init__(self, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "togul_monitor", "web", *args, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, *, err: bool = False, timeout: float = 15.0) -> str:
        lines = self.err if err else self.out
        found: list[str] = []

        def seen() -> bool:
            found[:] = [line for line in list(lines) if re.search(pattern, line)]
            if not found and self.proc.poll() is not None:
                raise AssertionError(f"web exited {self.proc.returncode}: {self.out} {self.err}")
            return bool(found)

        wait_for(seen, timeout, f"{pattern!r} in {'stderr' if err else 'stdout'}")
        return found[0]

    def url(self) -> str:
        """The URL the command prints once its port is bound."""
        return self.wait_line(r"^\s+http://").strip()

    def kill(self) -> None:
        kill_group(self.proc)


class Page:
    """One browser tab over the DevTools protocol: calls, and the terminal text received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._next_id = 0
        self._terminal = bytearray()

    def terminal_text(self) -> str:
        """Everything the page's terminal was sent, escape sequences removed."""
        return _ESCAPES.sub("", self._terminal.decode("utf-8", "replace"))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        call_id = self._next_id
        await self._ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await self._pump()
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def _pump(self) -> dict[str, Any]:
        """The next protocol message; terminal frames are kept on the way."""
        message: dict[str, Any] = json.loads((await self._ws.receive()).data)
        if message.get("method") == "Network.webSocketFrameReceived":
            frame = message["params"]["response"]
            if frame["opcode"] == 2:  # binary: the TUI's output (text frames are pings)
                self._terminal += base64.b64decode(frame["payloadData"])
        return message

    async def pump(self, timeout: float) -> None:
        """Take the next protocol message, if one comes within `timeout` seconds."""
        try:
            await asyncio.wait_for(self._pump(), timeout)
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            pass

    async def wait_text(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Until the terminal text matches `pattern` (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while (match := pattern.search(self.terminal_text())) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = self.terminal_text()[-2000:]
                raise AssertionError(
                    f"no {pattern.pattern!r} on the page after {timeout} s: {tail!r}"
                )
            await self.pump(remaining)
        return match

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])
        path.write_bytes(data)
        return data


@asynccontextmanager
async def headless_page(
    browser: str, profile_dir: Path, *, width: int = 1280, height: int = 800
) -> AsyncIterator[tuple[Page, subprocess.Popen[bytes]]]:
    """A headless Chromium with one blank tab of `width`×`height`, its network confined to
    loopback (the page's web-font link would otherwise reach out), killed on exit."""
    proc = subprocess.Popen(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={profile_dir}",
            f"--window-size={width},{height}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile_dir / "DevToolsActivePort"
        wait_for(
            lambda: port_file.exists() and "\n" in port_file.read_text(), 15, "Chromium to start"
        )
        port = port_file.read_text().split("\n")[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
            targets = json.load(answer)
        target = next(t for t in targets if t["type"] == "page")
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws,
        ):
            page = Page(ws)
            await page.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            await page.call("Network.enable")
            await page.call("Page.enable")
            yield page, proc
            # Closed by itself, Chromium reaps its helpers; a kill leaves them to whoever
            # adopts orphans. The group is killed below either way.
            try:
                await asyncio.wait_for(ws.send_json({"id": 0, "method": "Browser.close"}), 2)
                await asyncio.get_running_loop().run_in_executor(None, proc.wait, 5)
            except (asyncio.TimeoutError, subprocess.TimeoutExpired, ConnectionError):
                pass
    finally:
        kill_group(proc)
