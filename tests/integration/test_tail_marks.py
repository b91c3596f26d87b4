"""`tail`'s text lines against the emulator over loopback (cli/tail_marks.py): an event the
server replayed after an outage, and one whose own re-evaluation was merged into the next one's
(a flag changed every 20 ms is re-evaluated at most once a second: core/coalesce.py)."""

from __future__ import annotations

import threading

from click.testing import CliRunner, Result

from togul_monitor.cli import cli
from togul_monitor.emulator.harness import EmulatorHandle

from ..waits import wait_until
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


def test_tail_marks_the_event_the_server_replayed_after_an_outage(
    emulator: EmulatorHandle,
) -> None:
    """The stream is cut after one event, the next change is made while it is down, and the
    reconnect waits a second (a 503's Retry-After): the server replays that change, stamped in
    a second that ended before the stream was back."""
    key = emulator.credentials.keys["production"]["sdk"]
    args = ["tail", "--url", emulator.base_url, "--api-key", key]
    args += ["--environment", "production", "--count", "2"]
    results: list[Result] = []
    tail = threading.Thread(target=lambda: results.append(CliRunner().invoke(cli, args)))
    tail.start()
    try:
        wait_until(lambda: emulator.open_streams == 1, what="the tail's stream")
        emulator.faults.fail_next(1, 503, retry_after=1)  # the reconnect
        emulator.faults.cut_after(1)
        emulator.world.update_flag("production", "new-dashboard", description="live")
        emulator.world.update_flag("production", "new-dashboard", description="while down")
    finally:
        tail.join(timeout=20)
    (result,) = results
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    events = [line for line in lines if not line.startswith(("  ↳ ", "  ↑ "))]
    assert len(events) == 2
    (mark,) = [line for line in lines if line.startswith("  ↳ replayed: ")]
    assert lines.index(mark) == lines.index(events[1]) + 1, result.stdout
    assert "1 event(s) replayed" in result.stderr
