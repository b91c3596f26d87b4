"""`tail` and `history` tell one account of an event evaluated with its flag's next change
(cli/tail_marks.py, domain/merged.py), driven through `Evaluations` without a server: the
answers are handed to it as the reevaluator would, what it publishes goes to tail's printer as
tail's loop hands it (cli/tail_loop.py), and what it journals is read back by `history`.

- A flag an event created, whose first answer came once its next event was known (superseded):
  that answer is not the creation's own change (core/evaluation.py): the value change is the
  next event's, and the creation was evaluated with it, in both.
- An event received while its flag's previous answer was on its way, and asked about after it
  (the stream client's queue): merged with the next one in both (core/answered.py).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.render import TailPrinter
from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.core.updates import MonitorUpdate, TransitionRecorded, ValueUpdated
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation
from togul_monitor.store.journal import Journal, journal_path

T = 1_700_000_000.0


def text(value: str) -> Evaluation:
    return Evaluation(value, "string", "default", True)


class Run:
    """A recorder of profile `rec` whose updates a text `tail` prints."""

    def __init__(self) -> None:
        path = journal_path("rec")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = Journal.open(path)
        self.journal.set_environment_names({"env-p": "production"})
        self.out = io.StringIO()
        self.printer = TailPrinter(
            self.out,
            io.StringIO(),
            as_json=False,
            environment_names={"env-p": "production"},
            url="http://h/s",
            environment_key="production",
            contexts=("default",),
        )
        self.now = T
        self.e = Evaluations(self._publish, lambda: self.now, watched=(), retry_delay=0)
        self.e.journal = self.journal

    def _publish(self, update: MonitorUpdate) -> None:  # as cli/tail_loop.py `_print_effect`
        if isinstance(update, TransitionRecorded):
            self.printer.transition(update.transition)
        elif isinstance(update, ValueUpdated):
            self.printer.value(update.value)
            if update.first:
                self.printer.first_value(update.value)

    def events(self, at: float, *events: FlagEvent) -> None:
        """A batch taken in at `at` (received earlier, maybe): journalled, printed, asked."""
        self.now = at
        self.journal.append_events(list(events))
        self.printer.events(events)
        self.e.on_events(list(events))

    def answer(self, at: float, event: FlagEvent, value: str, superseded: bool = False) -> None:
        self.now = at
        result = EvaluateResult(Outcome.OK, text(value), 200)
        self.e._on_result(event.flag_key, event.event_id, result, superseded)

    def history(self, flag: str) -> list[dict[str, object]]:
        """`history FLAG --json`'s rows, newest first."""
        self.journal.flush()
        result = CliRunner().invoke(cli, ["history", flag, "--profile", "rec", "--json"])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    def tail(self) -> list[str]:
        return self.out.getvalue().splitlines()


def event(kind: str, key: str, version: int, received_at: float) -> FlagEvent:
    timestamp = received_at - 0.01
    return FlagEvent(kind, key, "env-p", version, timestamp, f"{key}-{version}", received_at)


def merged_in_tail(lines: list[str], flag: str) -> list[int]:
    """The versions tail said were evaluated with the next change."""
    said = [line.split(": v", 1) for line in lines if line.startswith(("  ↳ ", "  ↓ "))]
    return [
        int(s[1].split()[0]) for s in said if s[0].split()[1] == flag and "evaluated with" in s[-1]
    ]


def merged_in_history(rows: list[dict[str, object]]) -> list[int]:
    versions = [r["version"] for r in rows if r["kind"] == "event" and "evaluated_with_next" in r]
    return sorted(int(str(v)) for v in versions)


def test_a_created_flags_superseded_first_answer_is_its_next_events_change(
    isolated_home: Path,
) -> None:
    run = Run()
    v1 = event("flag.created", "bx-1", 1, T + 1.0)
    v2 = event("flag.updated", "bx-1", 2, T + 1.3)
    run.events(T + 1.0, v1)
    run.events(T + 1.3, v2)  # while the creation's call flies: merged (tail says so now)
    run.answer(T + 1.4, v1, "u1", superseded=True)  # came once v2 was known: v2's value
    run.answer(T + 2.4, v2, "u1")  # the call after it, for v2
    lines = run.tail()
    assert lines[1:] == [
        "  ↳ bx-1 (production): v1 evaluated with the next change",
        lines[2],  # v2's event line
        '  ↳ bx-1 (production): ∅ → "u1"',  # under v2: its change, not v1's
    ], lines
    rows = run.history("bx-1")
    assert merged_in_history(rows) == merged_in_tail(lines, "bx-1") == [1]
    changes = [r for r in rows if r["kind"] == "transition"]
    assert [(c["before"], c["event_id"]) for c in changes] == [(None, "bx-1-2")], rows
    run.journal.close()


def test_an_event_received_while_the_previous_answer_was_on_its_way_is_merged_in_both(
    isolated_home: Path,
) -> None:
    run = Run()
    run.e.seed({}, ("x",))
    run.answer(T, event("flag.updated", "x", 157, T), "a")  # the start's own answer
    v158, v159 = (
        event("flag.updated", "x", 158, T + 5.0),
        event("flag.updated", "x", 159, T + 5.281),
    )
    v160 = event("flag.updated", "x", 160, T + 5.5)
    run.events(T + 5.0, v158)
    run.answer(T + 5.287, v158, "a")  # v158's own answer, unchanged
    run.events(T + 5.29, v159)  # received at .281, taken in after that answer
    run.events(T + 5.5, v160)  # while v159's call waits its second: one call for both
    run.answer(T + 6.3, v160, "a")
    lines = run.tail()
    assert merged_in_tail(lines, "x") == [159], lines
    assert merged_in_history(run.history("x")) == [159]
    run.journal.close()
