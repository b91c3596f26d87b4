"""What `tail` says of an outage proved whole after it was reported (`OutageProven`): a line
on stderr, and in `--json` a line of its own kind on stdout; and the marks such an outage
takes back (domain/unseen.py)."""

from __future__ import annotations

import io
import json
import time

from togul_monitor.cli.render import TailPrinter
from togul_monitor.domain.events import Outage, OutageProven
from togul_monitor.domain.unseen import UnseenMarks

T0 = 1_700_000_000.0
REPORTED = Outage(T0, T0 + 2, 0, True, T0 + 3)
PROVEN = OutageProven(Outage(T0, T0 + 2, 0, False, T0 + 3, proven_at=T0 + 9))


def said(as_json: bool) -> tuple[list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    printer = TailPrinter(out, err, as_json=as_json, environment_names={}, url="http://h/s")
    printer.note(REPORTED)
    printer.note(PROVEN)
    printer.output.flush()
    return out.getvalue().splitlines(), err.getvalue().splitlines()


def test_tail_says_the_outage_missed_nothing_after_all() -> None:
    out, err = said(as_json=False)
    assert out == []
    assert "events may have been missed" in err[0]
    start = time.strftime("%H:%M:%S", time.localtime(T0))
    end = time.strftime("%H:%M:%S", time.localtime(T0 + 2))
    assert err[1] == (
        f"tail: outage {start}–{end} missed nothing after all: "
        "the next event's id followed the last one's"
    )


def test_tail_json_writes_a_line_of_its_own_kind() -> None:
    out, err = said(as_json=True)
    reported, line = out  # the outage's own line first (tests/unit/test_tail_outage_json.py)
    assert json.loads(reported)["kind"] == "outage"
    assert json.loads(line) == {
        "kind": "outage_proven",
        "started_at": T0,
        "ended_at": T0 + 2,
        "received_at": T0 + 3,
        "proven_at": T0 + 9,
        "may_have_missed": False,
    }
    assert len(err) == 2  # the outage and its proof, as without --json


def test_a_proven_outage_takes_back_only_the_marks_it_added() -> None:
    marks = UnseenMarks()
    marks.mark({"a": 1, "b": 2}, ["a"])  # a possible gap of `a`
    marks.mark({"a": 1, "b": 2, "c": 3}, None)  # the outage marks every flag
    marks.discard("c")  # `c` answered since
    marks.unmark_outage()
    assert marks == {"a"}


def test_a_flag_marked_for_a_cause_of_its_own_after_the_outage_keeps_its_mark() -> None:
    marks = UnseenMarks()
    marks.mark({"a": 1, "b": 2, "c": 3}, None)  # the outage marks every flag
    marks.add("b")  # then `b`'s value went stale
    marks.mark({"a": 1, "b": 2, "c": 3}, ["c"])  # and a possible gap of `c`
    marks.unmark_outage()
    assert marks == {"b", "c"}
