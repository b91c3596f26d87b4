"""`tail --json` against the emulator over loopback: an outage is a line of stdout, between the
event before it and the event the server replayed for it (cli/tail_output.py `OutageCauses`)."""

from __future__ import annotations

import json
import threading

from click.testing import CliRunner, Result

from togul_monitor.cli import cli
from togul_monitor.emulator.harness import EmulatorHandle

from ..waits import wait_until


def test_tail_json_writes_the_outage_before_the_event_replayed_for_it(
    emulator: EmulatorHandle,
) -> None:
    """The stream is cut after one event, the next change is made while it is down, and the
    reconnect waits a second (a 503's Retry-After): the server replays that change."""
    key = emulator.credentials.keys["production"]["sdk"]
    args = ["tail", "--url", emulator.base_url, "--api-key", key, "--json"]
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
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [line["kind"] for line in lines if line["kind"] in ("event", "outage")]
    assert kinds == ["event", "outage", "event"], result.stdout
    (outage,) = [line for line in lines if line["kind"] == "outage"]
    # The replay resumed the ids: proven whole at once, as stderr says too.
    assert outage["replayed"] == 1 and outage["may_have_missed"] is False
    assert outage["cause"] == "connection_lost"
    # What lost the connection (the cut), in stderr's words; not the 503 that kept it down.
    assert f"tail: {outage['error']}; attempt 1 failed" in result.stderr
    assert "503" not in outage["error"]
    assert outage["started_at"] < outage["ended_at"] <= outage["received_at"]
    assert "1 event(s) replayed; nothing missed" in result.stderr  # said there as before
