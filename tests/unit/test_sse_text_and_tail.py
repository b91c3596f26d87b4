"""`togul_monitor.support.text` (safe server text, masked secrets) and the tail printer's lines."""

from __future__ import annotations

import io
import json

from hypothesis import given
from hypothesis import strategies as st

from togul_monitor.cli.tail import TailPrinter
from togul_monitor.cli.times import clock
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Malformed,
    Outage,
    PossibleGap,
    Status,
)
from togul_monitor.support.text import mask_secret, safe_text


def test_safe_text_escapes_controls_and_keeps_the_rest() -> None:
    assert safe_text("checkout-v2 €豆") == "checkout-v2 €豆"
    assert safe_text("a\x1b[31mb\nc\x00") == "a\\x1b[31mb\\x0ac\\x00"
    assert safe_text("x\u202ey\u2028") == "x\\u202ey\\u2028"
    # Invisible characters would make two different keys look the same.
    assert safe_text("check\u200bout\ufeff\u2060") == "check\\u200bout\\ufeff\\u2060"
    assert safe_text("👩\u200d💻") == "👩\u200d💻"  # a ZWJ emoji sequence is left alone
    assert safe_text("l\u200er\u200fa\u061c") == "l\\u200er\\u200fa\\u061c"  # bidi marks
    assert safe_text("a\x07b", escape=False) == "a\ufffdb"
    assert safe_text(12) == "12"


@given(st.text())
def test_safe_text_output_never_holds_a_control_character(text: str) -> None:
    shown = safe_text(text)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in shown)


def test_mask_secret() -> None:
    assert mask_secret("tgl_sdk_0123456789abcdef9f2c") == "tgl_sdk_…9f2c"
    assert mask_secret("tgl_srv_short") == "tgl_srv_…"
    assert mask_secret("eyJhbGciOiJIUzI1NiJ9.payload.signature-abcd") == "…abcd"
    assert mask_secret("hunter2") == "…"
    assert mask_secret(None) == "(none)"


def printer(as_json: bool = False) -> tuple[TailPrinter, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    names = {"env-1": "production"}
    return (
        TailPrinter(out, err, as_json=as_json, environment_names=names, url="http://h/s"),
        out,
        err,
    )


EVENT = FlagEvent("flag.updated", "bad\x1b[2Jkey", "env-1", 3, 1_700_000_000, "9", 1.0)


def test_human_line_is_safe_and_names_the_environment() -> None:
    p, out, err = printer()
    p.event(EVENT)
    line = out.getvalue()
    assert line.count("\n") == 1 and "\x1b" not in line
    assert "bad\\x1b[2Jkey" in line and "production" in line and line.rstrip().endswith("v3")
    assert err.getvalue() == ""


def test_json_line_is_the_event_json() -> None:
    # Item 2 and 12 of "Never lie about what changed, where, or for whom": an event line says
    # it is one (`kind`) and names its environment by key, beside the event's own fields.
    p, out, _ = printer(as_json=True)
    p.event(EVENT)
    line = json.loads(out.getvalue())
    assert line == {"kind": "event", **EVENT.to_json(), "environment_key": "production"}
    assert list(line)[:5] == ["kind", "type", "flag_key", "environment_id", "environment_key"]
    assert "\x1b" not in out.getvalue()


def test_stream_notes_go_to_stderr() -> None:
    p, out, err = printer()
    p.note(Status(ConnectionState.RETRYING, at=10.0, attempt=2, next_try_at=12.5, error="boom\r"))
    p.note(Outage(100.0, 116.0, 3, False, 117.0))
    p.note(Outage(100.0, 101.0, None, True, 117.0))
    p.note(Malformed("not JSON", "x\x1by", "4", 1.0))
    p.note(PossibleGap("k", "env-1", 3, 5, "7", 1.0))
    p.note(Heartbeat(1.0))
    lines = err.getvalue().splitlines()
    assert out.getvalue() == ""
    # What failed, which attempt, and when the next one is: in seconds and on the clock.
    assert lines[0] == f"tail: boom\\x0d; attempt 2 failed, next try in 2.5 s (at {clock(12.5)})"
    assert "(16.0 s): 3 event(s) replayed; nothing missed" in lines[1]
    assert "the server replay is unknown; events may have been missed" in lines[2]
    assert lines[3] == "tail: malformed event (id 4): not JSON: x\\x1by"
    assert lines[4] == "tail: possible gap in k (production): expected version 3, got 5"
    assert len(lines) == 5  # heartbeats print nothing
