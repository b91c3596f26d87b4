"""`serve`'s event log treats server text as data."""

from __future__ import annotations

import pytest

from togul_monitor.cli.serve import event_line, print_banner, printable
from togul_monitor.emulator.faults import Faults
from togul_monitor.emulator.harness import EmulatorHandle, make_world
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.seed import seed_state
from togul_monitor.emulator.statefile import build_world


def test_printable_replaces_control_characters() -> None:
    assert printable("a\x1b[31mb\x07c\u200ed") == "a\ufffd[31mb\ufffdc\ufffdd"
    assert printable("[bold]x[/bold] ü") == "[bold]x[/bold] ü"
    assert printable("a\ud800b") == "a\ufffdb"  # no terminal encoding can write a lone surrogate


def test_event_line_names_the_environment_and_escapes_the_key() -> None:
    world = make_world(seed=0)
    world.create_flag("staging", "\x1b[2Jevil\nkey")
    event = world.outbox.recorded()[-1]
    names = {env_id: key for key, env_id in world.credentials.environment_ids.items()}
    line = event_line(event, names)
    assert "flag.created" in line and "staging" in line and "v1" in line
    assert "\x1b" not in line and "\n" not in line
    assert "\ufffd[2Jevil\ufffdkey" in line


def test_the_banner_prints_an_environment_key_inert(capsys: pytest.CaptureFixture[str]) -> None:
    """A state file's environment key is server text: its ESC never reaches the terminal."""
    state = seed_state(0)
    key = "stag[/]ing\x1b[31m"
    for item in (*state["flags"], *state["api_keys"]):
        if item["environment"] == "staging":
            item["environment"] = key
    state["environments"][1]["key"] = key
    world = build_world(state, outbox=Outbox())
    handle = EmulatorHandle(
        base_url="http://127.0.0.1:1",
        host="127.0.0.1",
        port=1,
        world=world,
        outbox=world.outbox,
        faults=Faults(world, world.outbox),
        heartbeat=15.0,
        replay=0,
        ids=False,
    )
    print_banner(handle, 0.0)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "  stag[/]ing\ufffd[31m (" in out
