"""`serve`'s event log treats server text as data."""

from __future__ import annotations

from togul_monitor.cli.serve import event_line, printable
from togul_monitor.emulator.harness import make_world


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
