"""`togul-monitor` (no profile file) and `--demo` open the TUI on the built-in demo."""

from __future__ import annotations

import pytest

from togul_monitor import demo
from togul_monitor.cli.open_tui import open_tui
from togul_monitor.config.profiles import Profile
from togul_monitor.ui.app import TogulMonitorApp


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
