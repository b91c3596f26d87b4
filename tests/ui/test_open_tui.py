"""`togul-monitor` (no profile file) and `--demo` open the TUI on the built-in demo."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from togul_monitor import demo
from togul_monitor.cli.open_tui import open_tui
from togul_monitor.config.profiles import Profile
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp

from .helpers import make_app, make_profile, wait_live


@pytest.fixture(autouse=True)
def demo_offered() -> None:
    """`open_tui` runs after the group's start, which offers the demo's profiles."""
    demo.register()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Profile]:
    seen: list[Profile] = []

    def run(self: TogulMonitorApp, *args: object, **kwargs: object) -> None:
        seen.append(self.profile)  # the app would run here; the demo emulator is up meanwhile

    monkeypatch.setattr(TogulMonitorApp, "run", run)
    return seen


@pytest.mark.parametrize("demo", [True, False])
def test_the_demo_opens_with_demo_or_without_a_profile_file(
    demo: bool, opened: list[Profile]
) -> None:
    open_tui(demo=demo, profile_name=None)
    (profile,) = opened
    assert profile.name == "demo-production" and profile.builtin
    assert profile.base_url.startswith("http://127.0.0.1:") and profile.api_key


def test_an_unknown_profile_exits_2_before_any_screen(
    opened: list[Profile], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        open_tui(demo=False, profile_name="nope")
    assert exit_info.value.code == 2
    assert "nope" in capsys.readouterr().err
    assert not opened


def test_the_demo_serves_once_the_first_frame_is_painted(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def run(self: TogulMonitorApp, *args: object, **kwargs: object) -> None:
        running = demo.current_server()
        assert running is not None
        seen["before"] = running.handle.serving
        # A request made before the first frame waits, and is answered once it is painted.
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(httpx.get, self.profile.base_url + "/healthz", timeout=10)
            self._after_first_frame()
            seen["status"] = answer.result(timeout=10).status_code
        seen["after"] = running.handle.serving

    monkeypatch.setattr(TogulMonitorApp, "run", run)
    open_tui(demo=True, profile_name=None)
    assert seen == {"before": False, "status": 200, "after": True}


def test_the_first_frame_loads_no_server() -> None:
    # In a fresh interpreter: the demo's profile is ready without uvicorn or Starlette loaded.
    script = (
        "import sys\n"
        "from togul_monitor import demo\n"
        "with demo.serving_deferred():\n"
        "    with demo.demo_session() as server:\n"
        "        assert server.base_url and server.sdk_keys['production']\n"
        "        loaded = {'uvicorn', 'starlette'} & {m.split('.')[0] for m in sys.modules}\n"
        "        print(sorted(loaded))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


async def test_the_app_says_when_its_first_frame_is_painted(emulator: EmulatorHandle) -> None:
    order: list[str] = []  # what happened, in order: the hook (with the feed on screen), the start

    def painted() -> None:
        order.append(f"painted {app.main.feed.region.area > 0}")

    app: TogulMonitorApp = make_app(make_profile(emulator), after_first_frame=painted)
    start = app.session.start

    def starting(profile: Profile | None, name: str | None, current_name: str) -> None:
        order.append("monitor started")
        start(profile, name, current_name)

    app.session.start = starting  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
    assert order == ["painted True", "monitor started"]


def test_a_tui_that_crashed_exits_1(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The real app, headless, crashing after its first frame: the command exits 1 with the
    traceback printed (it exited 0, as after a quit)."""
    run = TogulMonitorApp.run

    def crash(self: TogulMonitorApp) -> None:
        raise RuntimeError("crashed after the first frame")

    monkeypatch.setattr(TogulMonitorApp, "_first_frame_painted", crash)
    monkeypatch.setattr(TogulMonitorApp, "run", lambda self: run(self, headless=True))
    # A headless app takes its size from these: without them and without a terminal (pytest
    # run without workers) it is 0×0 and never paints a first frame.
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "24")
    with pytest.raises(SystemExit) as exit_info:
        open_tui(demo=True, profile_name=None)
    assert exit_info.value.code == 1
    assert "crashed after the first frame" in capfd.readouterr().err
