"""What `tail` prints for transitions, unusable events and connection failures
(`TailPrinter`, cli/render.py), which of them it prints (`TailScope`, cli/tail.py), and the
time formats shared with the TUI and the exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail import TailScope
from togul_monitor.cli.times import clock, stamp
from togul_monitor.domain.events import ConnectionState, FlagEvent, Malformed, Status
from togul_monitor.domain.filters import parse_filter
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.export import read_jsonl, write_csv, write_jsonl
from togul_monitor.store.export_json import iso_time, parse_time

NAMES = {"env-p": "production", "env-s": "staging"}


def printer(
    as_json: bool = False, *, evaluating: bool = True, url: str = "http://h/s"
) -> tuple[TailPrinter, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    p = TailPrinter(
        out,
        err,
        as_json=as_json,
        environment_names=NAMES,
        url=url,
        environment_key="production",
        evaluating=evaluating,
    )
    return p, out, err


def ev(value: object, reason: str = "default", enabled: bool = True) -> Evaluation:
    return Evaluation(value, "boolean" if isinstance(value, bool) else "number", reason, enabled)


# --- item 12: before → after on stdout ---------------------------------------------------------


def after(p: TailPrinter, flag: str, event_id: str | None, version: int = 1) -> None:
    """The event of `flag` (in the profile's environment) whose value line comes next."""
    p.event(FlagEvent("flag.updated", flag, "env-p", version, 1.0, event_id, 1.0))


def effects(out: io.StringIO) -> list[str]:
    """The lines printed under events (not the events' own)."""
    return [line for line in out.getvalue().splitlines() if line.startswith("  ")]


def test_a_value_change_is_a_stdout_line_with_what_else_changed() -> None:
    p, out, err = printer()
    after(p, "checkout-v2", "7")
    p.transition(
        ValueTransition(
            "checkout-v2", ev(False, "default"), ev(True, "rule_match"), "7", 1_700_000_000.0
        )
    )
    after(p, "new-dashboard", None)  # a stream without ids
    p.transition(
        ValueTransition(
            "new-dashboard", ev(True, "rule_match"), ev(False, "disabled", False), None, 1
        )
    )
    assert err.getvalue() == ""
    assert effects(out) == [
        "  ↳ checkout-v2 (production): false → true (reason default → rule_match)",
        "  ↳ new-dashboard (production): true → false (reason rule_match → disabled; "
        "enabled → disabled)",
    ]


def test_when_only_the_reason_or_the_switch_changed_that_is_what_is_shown() -> None:
    p, out, _ = printer()
    after(p, "pct", "1")
    p.transition(ValueTransition("pct", ev(25, "default"), ev(25, "rule_match"), "1", 1.0))
    after(p, "pct", "2", 2)
    p.transition(ValueTransition("pct", ev(25, "default"), ev(25, "default", False), "2", 1.0))
    after(p, "gone", "3")
    p.transition(ValueTransition("gone", ev(25), None, "3", 1.0))
    after(p, "back", "4")
    p.transition(ValueTransition("back", None, ev(True), "4", 1.0))
    lines = effects(out)
    assert lines == [
        "  ↳ pct (production): 25 (unchanged; reason default → rule_match)",
        "  ↳ pct (production): 25 (unchanged; enabled → disabled)",
        "  ↳ gone (production): 25 → deleted",
        "  ↳ back (production): ∅ → true",
    ]
    assert not any("25 → 25" in line for line in lines)


def test_a_transition_as_json_names_its_environment_event_and_iso_time() -> None:
    p, out, _ = printer(as_json=True)
    p.transition(
        ValueTransition("bad\x1bkey", ev(False), ev(True, "rule_match"), "7", 1_700_000_000.25)
    )
    text = out.getvalue()
    assert "\x1b" not in text and text.count("\n") == 1
    assert json.loads(text) == {
        "kind": "transition",
        "flag_key": "bad\x1bkey",
        "environment_key": "production",
        "before": {"value": False, "value_type": "boolean", "reason": "default", "enabled": True},
        "after": {"value": True, "value_type": "boolean", "reason": "rule_match", "enabled": True},
        "event_id": "7",
        "at": "2023-11-14T22:13:20.250Z",
        "context": "default",
        "includes_unseen": False,
    }


def test_a_change_no_event_explains_is_the_json_line_export_writes_of_it() -> None:
    """One change, one name: `tail --json` writes a change found on re-evaluation as `export`
    does, `found`, the same object key for key (and in the same order)."""
    found = ValueTransition("k", ev(False), ev(True), None, 1_700_000_000.25, "default", True)
    exported = io.StringIO()
    write_jsonl([], exported, NAMES, transitions=[found], environment_id="env-p")
    (line,) = exported.getvalue().splitlines()
    p, out, _ = printer(as_json=True)
    p.events([FlagEvent("flag.updated", "other", "env-p", 3, 1.0, "17", 1.0)])  # ids are sent
    p.transition(found)
    tailed = out.getvalue().splitlines()[-1]
    assert json.loads(line)["kind"] == "found"
    # The environment: tail knows it live (the profile's, which evaluate asks for); export
    # writes the one the journal recorded, null for a change no journal recorded (as here).
    tail_items, export_items = list(json.loads(tailed).items()), list(json.loads(line).items())
    assert tail_items[2] == ("environment_key", "production")
    assert export_items[2] == ("environment_key", None)
    assert tail_items[:2] + tail_items[3:] == export_items[:2] + export_items[3:]
    # A stream without ids: a change's event cannot be told, none is claimed or denied.
    p, out, _ = printer(as_json=True)
    p.events([FlagEvent("flag.updated", "other", "env-p", 3, 1.0, None, 1.0)])
    p.transition(found)
    unknown = json.loads(out.getvalue().splitlines()[-1])
    assert unknown["kind"] == "transition" and unknown["event_id"] is None


# --- unusable events ----------------------------------------------------------------------------


def test_an_unusable_event_says_every_flag_is_re_evaluated() -> None:
    p, out, err = printer()
    p.note(Malformed("no flag_key", '{"type":"x"}', None, 1.0, re_evaluate=True))
    p.note(Malformed("no flag_key", '{"\x1b":1}', "9", 1.0, re_evaluate=True))
    p.note(Malformed("not JSON", "x", None, 1.0))
    assert out.getvalue() == ""
    assert err.getvalue().splitlines() == [
        'tail: unusable event (no flag_key): re-evaluating every flag: {"type":"x"}',
        'tail: unusable event (no flag_key, id 9): re-evaluating every flag: {"\\x1b":1}',
        "tail: malformed event: not JSON: x",
    ]
    quiet, _, err = printer(evaluating=False)  # no evaluation: never claim one
    quiet.note(Malformed("no flag_key", "{}", None, 1.0, re_evaluate=True))
    assert "re-evaluating" not in err.getvalue() and "not evaluated" in err.getvalue()


def test_json_writes_an_unusable_event_and_a_possible_gap_on_stdout_in_order() -> None:
    """Each says a change may be lost: a program reading the JSON lines alone learns of it, as
    it learns of an outage, where it happened among the events; stderr says it all the same."""
    from togul_monitor.domain.events import PossibleGap

    p, out, err = printer(as_json=True)
    p.events([FlagEvent("flag.updated", "k", "env-p", 3, 1, "17", 1.0)])
    p.note(Malformed("no flag_key", '{"\x1b":1}', "18", 2.5, re_evaluate=True))
    p.note(PossibleGap("k", "env-p", 4, 6, "19", 3.5))
    p.note(Malformed("not JSON", "x", None, 4.0))
    p.flush()
    text = out.getvalue()
    assert text.isascii() and "\x1b" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["kind"] for line in lines] == ["event", "unusable", "possible_gap", "unusable"]
    assert lines[1:] == [
        {
            "kind": "unusable",
            "reason": "no flag_key",
            "data": '{"\x1b":1}',
            "id": "18",
            "received_at": 2.5,
            "re_evaluate": True,
        },
        {
            "kind": "possible_gap",
            "flag_key": "k",
            "environment_id": "env-p",
            "environment_key": "production",
            "expected_version": 4,
            "got_version": 6,
            "id": "19",
            "received_at": 3.5,
        },
        {
            "kind": "unusable",
            "reason": "not JSON",
            "data": "x",
            "id": None,
            "received_at": 4.0,
            "re_evaluate": False,
        },
    ]
    assert len(err.getvalue().splitlines()) == 3  # stderr says each, as before


# --- item 9b: unreachable hosts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            "cannot connect: [Errno -2] Name or service not known",
            "cannot find host api.example.invalid: the name does not resolve",
        ),
        (
            "cannot connect: [Errno -3] Temporary failure in name resolution",
            "cannot look up host api.example.invalid: no name server answered",
        ),
        (
            "cannot connect: All connection attempts failed",
            "cannot connect to api.example.invalid:443: nothing accepted the connection",
        ),
        (
            "cannot connect: [Errno 101] Network is unreachable",
            "cannot reach api.example.invalid:443: the network is unreachable",
        ),
        (
            "cannot connect: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "self-signed certificate (_ssl.c:1006)",
            "cannot trust api.example.invalid:443: certificate refused (self-signed "
            "certificate); SSL_CERT_FILE (or SSL_CERT_DIR) may name the CA that signed it",
        ),
        (  # another host's certificate: no hint, whatever the host is called
            "cannot connect: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "Hostname mismatch, certificate is not valid for 'issuer-api.example'. (_ssl.c:1006)",
            "cannot trust api.example.invalid:443: certificate refused (Hostname mismatch, "
            "certificate is not valid for 'issuer-api.example')",
        ),
        (  # a CA file would not help: no hint
            "cannot connect: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "certificate has expired (_ssl.c:1006)",
            "cannot trust api.example.invalid:443: certificate refused (certificate has expired)",
        ),
        ("server error (HTTP 503)", "server error (HTTP 503)"),
    ],
)
def test_connection_failures_read_in_plain_words(error: str, words: str) -> None:
    p, _, err = printer(url="https://api.example.invalid/api/v1/stream")
    p.note(Status(ConnectionState.RETRYING, at=100.0, attempt=3, next_try_at=104.0, error=error))
    (line,) = err.getvalue().splitlines()
    assert line == f"tail: {words}; attempt 3 failed, next try in 4.0 s (at {clock(104.0)})"
    assert "Errno" not in line
    assert p.last_error == words


def test_one_line_per_attempt_while_retrying() -> None:
    p, _, err = printer()
    error = "cannot connect: All connection attempts failed"
    for attempt in (1, 2, 3):
        p.note(Status(ConnectionState.CONNECTING, at=float(attempt)))
        p.note(Status(ConnectionState.RETRYING, float(attempt), attempt, attempt + 0.5, error))
    p.note(Status(ConnectionState.CONNECTING, at=4.0))
    p.note(Status(ConnectionState.LIVE, at=4.0))
    lines = err.getvalue().splitlines()
    assert lines[0] == "tail: connecting to http://h/s"
    assert [line.count("attempt ") for line in lines[1:4]] == [1, 1, 1]
    assert lines[4].startswith("tail: live since") and len(lines) == 5


# --- item 18: one event, one second, everywhere -------------------------------------------------


def test_tail_shows_the_second_the_tui_shows() -> None:
    from togul_monitor.ui.view.format import fmt_clock

    # The server stamped 10:00:00; the event arrived at 10:00:01.6. The TUI's feed shows when
    # it arrived: so does tail's line, truncated the same way.
    event = FlagEvent("flag.updated", "k", "env-p", 1, 1_700_000_000, "1", 1_700_000_001.6)
    out = io.StringIO()
    TailPrinter(out, io.StringIO(), as_json=False, environment_names=NAMES, url="u").event(event)
    shown = out.getvalue().split()[1]
    assert shown == fmt_clock(event.received_at, "local", 0.0) == clock(1_700_000_001.0)
    for ts in (1_700_000_001.9999, 1_700_000_001.5, -0.5):
        assert clock(ts) == fmt_clock(ts, "local", 0.0)
        assert stamp(ts).endswith(clock(ts))
    assert clock(float("nan")) == fmt_clock(float("inf"), "local", 0.0) == "?"


# --- which events and transitions a tail prints -------------------------------------------------


def scope(query: str | None, environment_key: str = "production") -> TailScope:
    p, _, _ = printer()
    return TailScope(
        p,
        query=parse_filter(query) if query else None,
        environment_key=environment_key,
        known_names=lambda: NAMES,
        environment_id=lambda: {v: k for k, v in NAMES.items()}[environment_key],
    )


def event(flag: str, env: str = "env-p", etype: str = "flag.updated") -> FlagEvent:
    return FlagEvent(etype, flag, env, 1, 1.0, None, 1.0)


def transition(flag: str) -> ValueTransition:
    return ValueTransition(flag, ev(False), ev(True), None, 1.0)


def test_environment_narrows_an_organisation_wide_stream() -> None:
    s = scope(None, "staging")
    assert [s.event(event("a", env)) for env in ("env-p", "env-s", "env-other")] == [
        False,
        True,
        False,
    ]


def test_a_transition_follows_the_fate_of_its_flags_last_event() -> None:
    s = scope("flag:checkout-*")
    assert s.event(event("checkout-v2")) and not s.event(event("new-dashboard"))
    assert s.transition(transition("checkout-v2"))
    assert not s.transition(transition("new-dashboard"))  # its event was not printed
    assert s.transition(transition("checkout-v3"))  # no event seen: the filter decides
    assert not s.transition(transition("other"))
    s.skipped(event("checkout-v2"))  # after --count: neither the event nor its effect
    assert not s.transition(transition("checkout-v2"))


def test_an_unknown_environment_cannot_be_narrowed_and_says_so() -> None:
    out, err = io.StringIO(), io.StringIO()
    p = TailPrinter(out, err, as_json=False, environment_names={}, url="http://h/s")
    s = TailScope(
        p, query=None, environment_key="qa", known_names=dict, environment_id=lambda: None
    )
    assert s.event(event("a", "env-x")) and s.event(event("b", "env-y"))
    assert err.getvalue().count("cannot tell the events of environment qa apart") == 1


# --- item 3 and 12: exports carry the environment key and ISO-8601 times ------------------------


EXPORTED = FlagEvent("flag.updated", "k", "env-p", 3, 1_700_000_000, "9", 1_700_000_001.2345678)


def test_exports_name_the_environment_and_write_iso_times() -> None:
    jsonl, csv_out = io.StringIO(), io.StringIO()
    write_jsonl([EXPORTED], jsonl, NAMES)
    write_csv([EXPORTED, event("x", "env-unknown")], csv_out, environment_names=NAMES)
    assert json.loads(jsonl.getvalue()) == {
        "kind": "event",
        "type": "flag.updated",
        "flag_key": "k",
        "environment_id": "env-p",
        "environment_key": "production",
        "version": 3,
        "timestamp": "2023-11-14T22:13:20Z",
        "id": "9",
        "received_at": "2023-11-14T22:13:21.234Z",  # milliseconds, truncated
    }
    header, row, unknown = csv_out.getvalue().splitlines()
    # The event's columns first, as they were when a CSV export held events only.
    assert header.startswith(
        "id,type,flag_key,environment_id,environment_key,version,timestamp,received_at,kind,"
    )
    assert row == (
        "9,flag.updated,k,env-p,production,3,2023-11-14T22:13:20Z,2023-11-14T22:13:21.234Z,event"
        + "," * 9  # the columns of the other kinds, and evaluated_with_next
    )
    assert unknown.split(",")[3:5] == ["env-unknown", ""]


def test_an_export_reads_back_with_its_environment_names_and_is_stable() -> None:
    first = io.StringIO()
    write_jsonl([EXPORTED], first, NAMES)
    names: dict[str, str] = {}
    (back,) = read_jsonl(first.getvalue().splitlines(), names)
    assert names == {"env-p": "production"}
    assert back.timestamp == EXPORTED.timestamp and isinstance(back.timestamp, int)
    assert abs(back.received_at - EXPORTED.received_at) < 0.001
    again = io.StringIO()
    write_jsonl([back], again, names)
    assert again.getvalue() == first.getvalue()  # a re-import exports byte for byte the same


def test_tail_json_lines_read_back_as_events() -> None:
    p, out, _ = printer(as_json=True)
    p.event(EXPORTED)
    p.transition(transition("k"))
    assert list(read_jsonl(out.getvalue().splitlines())) == [EXPORTED]


def test_times_no_calendar_holds_stay_numbers() -> None:
    assert iso_time(1e300) == 1e300 and parse_time(1e300) == 1e300
    assert parse_time("2023-11-14T22:13:20") is None  # no zone: not an export's time
    assert parse_time("yesterday") is None and parse_time(True) is None


def test_the_tui_export_names_the_environment(tmp_path: Path) -> None:
    from togul_monitor.ui.export import write_jsonl as tui_write_jsonl
    from togul_monitor.ui.view.feed_predicate import FeedPredicate

    path = tmp_path / "out.jsonl"
    counts = tui_write_jsonl([EXPORTED], FeedPredicate(environment_names=dict(NAMES)), path)
    assert counts.events == 1
    line = json.loads(path.read_text())
    assert line["environment_key"] == "production"
    assert line["received_at"] == "2023-11-14T22:13:21.234Z"


def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_quoted_as_text() -> None:
    out = io.StringIO()
    keys = [
        '=HYPERLINK("http://evil","x")',
        "@SUM(1+1)",
        "+1",
        "-2",
        "plain-key",
        "osc\x1b]52;c;x\x07",
    ]
    write_csv([event(key, "env-p") for key in keys], out, environment_names=NAMES)
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    cells = [row[2] for row in rows]
    assert cells == [
        '\'=HYPERLINK("http://evil","x")',
        "'@SUM(1+1)",
        "'+1",
        "'-2",
        "plain-key",  # only what would start a formula
        "osc\\x1b]52;c;x\\x07",  # escaped: `cat` runs nothing
    ]


def test_a_change_tied_to_no_event_is_called_found_on_re_evaluation_only_when_events_have_ids() -> (
    None
):
    """The documented stream sends no ids: every change then has no event id, and calling them
    all "found on re-evaluation" was wrong for the ones an event caused."""
    from togul_monitor.cli.history_lines import found_by_reevaluation, history_line

    change = ValueTransition(
        "k",
        Evaluation(False, "boolean", "default", True),
        Evaluation(True, "boolean", "default", True),
        None,
        2.0,
    )
    without_ids = [event("k"), change]  # event() has no id
    found = found_by_reevaluation(without_ids, "env-p")(change)
    assert not found
    assert "re-evaluation" not in history_line(change, found=found)
    with_ids = [FlagEvent("flag.updated", "k", "env-p", 2, 1, "17", 1), change]
    found = found_by_reevaluation(with_ids, "env-p")(change)
    assert found
    assert history_line(change, found=found).endswith("(found on re-evaluation)")

    p, out, _ = printer()
    p.events([event("k")])
    p.transition(change)  # no ids on this stream: nothing claimed
    p.events([FlagEvent("flag.updated", "k", "env-p", 3, 1, "18", 1)])
    p.transition(change)  # ids on this stream: a change tied to none is no event's
    p.flush()
    first, second = effects(out)
    assert "re-evaluation" not in first
    assert "[found on re-evaluation]" in second


def test_a_change_found_after_an_outage_resumed_by_id_is_called_found_before_any_event() -> None:
    """A run that resumed from the journal's last id and has had no event yet: the outage's
    replay count (a `Last-Event-ID` was sent) says the stream sends ids, so what the
    re-evaluation after it finds is no event's, as in a run that has seen events."""
    from togul_monitor.domain.events import Outage

    found = ValueTransition("k", ev(5), ev(9), None, 20.0, "default", True)
    p, out, _ = printer()
    p.note(Outage(10.0, 16.0, 0, True, 16.0))  # resumed with an id: 0 events replayed
    p.transition(found)
    p.events([event("k")])  # then the server sends no ids (it was restarted so)
    p.transition(found)
    p.flush()
    first, second = effects(out)
    assert first == "  · k (production) [found on re-evaluation]: 5 → 9"
    assert "re-evaluation" not in second and "(may include" in second

    p, out, _ = printer()
    p.note(Outage(10.0, 16.0, None, True, 16.0))  # no id to resume from: nothing known
    p.transition(found)
    p.flush()
    assert "re-evaluation" not in out.getvalue()


def test_a_connection_waiting_for_its_first_byte_says_so_and_is_not_live() -> None:
    from togul_monitor.client.attempt import NO_DATA_YET

    p, _, err = printer()
    p.note(Status(ConnectionState.RETRYING, 1.0, 1, 1.5, "no data for 6 s (read timeout)"))
    p.note(Status(ConnectionState.CONNECTING, at=2.0))
    p.note(Status(ConnectionState.CONNECTING, at=2.1, error=NO_DATA_YET))
    p.note(Status(ConnectionState.LIVE, at=9.0))
    lines = err.getvalue().splitlines()
    assert lines[1] == f"tail: {NO_DATA_YET} (http://h/s)"
    assert lines[2].startswith("tail: live since") and len(lines) == 3


def test_a_change_that_may_include_unseen_ones_says_so_unless_no_event_claims_it() -> None:
    from togul_monitor.cli.history_lines import history_line

    marked = ValueTransition("k", ev(True), ev(False), "17", 2.0, "default", True)
    found = ValueTransition("k", ev(True), ev(False), None, 2.0, "default", True)
    note = "(may include changes the stream did not show)"
    assert history_line(marked).endswith(f"by event 17  {note}")
    assert history_line(found, found=True).endswith("(found on re-evaluation)")
    assert history_line(found).endswith(note)  # tied to an event, by time
    p, out, _ = printer()
    p.events([FlagEvent("flag.updated", "k", "env-p", 3, 1, "17", 1)])
    p.transition(marked)
    p.transition(found)
    p.transition(ValueTransition("k", ev(False), ev(True), "18", 3.0))
    p.flush()
    lines = effects(out)
    assert lines[0] == f"  ↳ k (production): true → false {note}"
    assert note not in lines[1] and "[found on re-evaluation]" in lines[1]
    assert note not in lines[2]
