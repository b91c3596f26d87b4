"""`tail`'s text lines say when an event's own re-evaluation was merged into the next one's,
against the emulator over loopback: a flag changed every 20 ms is re-evaluated at most once a
second (core/coalesce.py), so the events between two answers are evaluated together."""

from __future__ import annotations

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.emulator.harness import EmulatorHandle

from .test_stream_tail import activity


def test_tail_says_which_event_was_evaluated_with_the_next(emulator: EmulatorHandle) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    args = ["tail", "--url", emulator.base_url, "--api-key", key]
    args += ["--environment", "production", "--count", "3"]
    with activity(emulator):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    events = [index for index, line in enumerate(lines) if not line.startswith("  ↳ ")]
    assert len(events) == 3
    # The second event came 20 ms after the first, whose answer paces the flag's next call for
    # a second: the third came before the second was answered.
    second = lines[events[1]].split()[-1]
    said = f"  ↳ new-dashboard (production): {second} evaluated with the next change"
    assert lines[events[2] - 1] == said, result.stdout
    merged = [line for line in lines if line.endswith("evaluated with the next change")]
    assert all(line.split()[-6] in {lines[i].split()[-1] for i in events[:2]} for line in merged)
