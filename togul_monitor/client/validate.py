"""SSE event data → `FlagEvent`, or `Malformed` with the reason. Never raises.

The payload is documented (docs/protocol.md) as a one-line JSON object with `type`,
`flag_key`, `environment_id` (strings), `version` (integer) and `timestamp` (Unix time). Extra
fields are ignored; an unknown `type` passes through (`FlagEvent.known_type` is False) so that a
newer server's events are shown, not dropped.

Tolerated, because a server that sends them still means a change (into the same fields):
- `version` as a decimal string (`"7"`);
- `timestamp` in milliseconds (a number above `MILLISECONDS_ABOVE`: divided by 1000) or as an
  ISO-8601 string (`Z` or an offset; a naive time is UTC).

A JSON object that still cannot become a `FlagEvent` (no usable `flag_key`, a missing or bad
field) is `Malformed` with `re_evaluate=True`: the official SDKs take such an event as
"something changed" and drop their whole cache, so the monitor re-evaluates every flag it
monitors. Data that is not a JSON object at all stays `re_evaluate=False`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import timezone
from typing import Annotated, Any

import msgspec

from togul_monitor.domain.events import FlagEvent, Malformed
from togul_monitor.protocol import EVENT_FIELDS
from togul_monitor.support.isotime import from_iso
from togul_monitor.support.kinds import value_kind

#: Payloads larger than this (UTF-8 bytes) are refused before parsing.
MAX_PAYLOAD_BYTES = 1 << 20
#: How much of a bad payload a Malformed item keeps.
RAW_KEEP = 512


def _parse_int(text: str) -> int | float:
    """An integer literal; past Python's 4,300 digits (where int() refuses) an infinity, as
    msgspec reads it, so a huge number in a field nobody reads spoils no event here either
    (a huge version or timestamp is refused by the range checks all the same)."""
    if len(text) < 4_300:
        return int(text)
    return float("-inf") if text.startswith("-") else float("inf")


_DECODER = json.JSONDecoder(parse_int=_parse_int)
_loads = _DECODER.decode
# The decoder's C scanner (not in the typing stubs): parses one value at an offset, without
# json.loads's whole-string checks.
_scan_once: Callable[[str, int], tuple[Any, int]] = vars(_DECODER)["scan_once"]
_JSON_WS = " \t\n\r"
_NOTHING = object()
# What the journal can store (SQLite INTEGER is int64) and the views can format (datetime's
# years 1-9999): anything outside is refused here, so no later stage meets a value it cannot
# handle (a version above 2**63 used to kill the journal's writer thread).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
TIMESTAMP_MIN = -62_135_596_800.0  # 0001-01-01T00:00:00Z
TIMESTAMP_MAX = 253_402_300_799.0  # 9999-12-31T23:59:59Z
#: A numeric timestamp above this is in milliseconds: 10^11 s is the year 5138, 10^11 ms 1973.
MILLISECONDS_ABOVE = 100_000_000_000
_MILLISECONDS_MAX = TIMESTAMP_MAX * 1000  # beyond this, dividing could overflow a float
_MAX_DECIMAL_DIGITS = 40  # a decimal-string version longer than this is not even looked at
_MAX_ISO_LENGTH = 64


class Wire(msgspec.Struct, gc=False):
    """The documented payload, as msgspec decodes and checks it in one C call (`decode_wire`).

    Used by the stream's fast loop (items_run.py): what decodes here (a non-empty key, a version
    that fits 64 bits, a timestamp in seconds from the year 1 up to `MILLISECONDS_ABOVE`) is the
    event `validate_event` would make of the same text, field for field (an integer timestamp
    stays an integer). Anything else raises, and `validate_event` decides: the tolerated forms
    (a decimal-string version, milliseconds, ISO-8601) and the reason a payload is malformed.
    """

    type: str
    flag_key: Annotated[str, msgspec.Meta(min_length=1)]
    environment_id: str
    version: Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
    timestamp: (
        Annotated[int, msgspec.Meta(ge=int(TIMESTAMP_MIN), le=MILLISECONDS_ABOVE)]
        | Annotated[float, msgspec.Meta(ge=TIMESTAMP_MIN, le=float(MILLISECONDS_ABOVE))]
    )


decode_wire = msgspec.json.Decoder(Wire).decode
#: Payloads longer than this (characters) skip the fast loop: `validate_event` checks the size.
FAST_MAX_CHARS = MAX_PAYLOAD_BYTES // 4


def truncate(raw: str, keep: int = RAW_KEEP) -> str:
    return raw if len(raw) <= keep else raw[:keep] + "…"


def validate_event(data: str, event_id: str | None, received_at: float) -> FlagEvent | Malformed:
    """Validate one event's data."""
    size = len(data)
    # Characters are a lower bound of bytes and 4 × characters an upper bound, so the UTF-8
    # length is computed only for payloads near the limit.
    if size > MAX_PAYLOAD_BYTES // 4 and (
        size > MAX_PAYLOAD_BYTES or len(data.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES
    ):
        return Malformed(
            f"oversized: more than {MAX_PAYLOAD_BYTES} bytes", truncate(data), event_id, received_at
        )
    obj: object = _NOTHING
    if data[:1] == "{":
        # Fast path for the common case: the C scanner straight away, without json.loads'
        # type checks and whitespace regexes. Anything unusual takes json.loads below, which
        # also gives the error message.
        try:
            obj, end = _scan_once(data, 0)
        except (StopIteration, ValueError, RecursionError):
            obj = _NOTHING
        else:
            if end != size and data[end:].strip(_JSON_WS):
                obj = _NOTHING
    if obj is _NOTHING:
        try:
            obj = _loads(data)
        except ValueError as exc:  # JSONDecodeError; also a lone surrogate in the text
            reason = f"not JSON: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else "not JSON"
            return Malformed(reason, truncate(data), event_id, received_at)
        except RecursionError:
            return Malformed("not JSON: nested too deeply", truncate(data), event_id, received_at)
    if type(obj) is not dict:
        return Malformed(f"not an object: {value_kind(obj)}", truncate(data), event_id, received_at)
    try:
        etype = obj["type"]
        key = obj["flag_key"]
        env = obj["environment_id"]
        version = obj["version"]
        ts = obj["timestamp"]
    except KeyError:
        missing = [name for name in EVENT_FIELDS if name not in obj]
        return Malformed(
            "missing field" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            truncate(data),
            event_id,
            received_at,
            re_evaluate=True,
        )
    # The tolerated forms: a decimal-string version, a timestamp in ms or as ISO-8601 text.
    if type(version) is str:
        version = _decimal(version)
    if type(ts) is int or type(ts) is float:
        if MILLISECONDS_ABOVE < ts <= _MILLISECONDS_MAX:
            ts = ts / 1000
    elif type(ts) is str:
        ts = _iso_seconds(ts)
    # `type(x) is int` rather than isinstance: a JSON true must not pass as version 1.
    if (
        type(etype) is str
        and type(key) is str
        and type(env) is str
        and type(version) is int
        and (type(ts) is int or (type(ts) is float and math.isfinite(ts)))
    ):
        if (
            INT64_MIN <= version <= INT64_MAX
            and TIMESTAMP_MIN <= ts <= TIMESTAMP_MAX
            and key
            # isascii() inline: the common case costs no function call.
            and (etype.isascii() or _utf8(etype))
            and (key.isascii() or _utf8(key))
            and (env.isascii() or _utf8(env))
        ):
            return FlagEvent(etype, key, env, version, ts, event_id, received_at)
        reason = _unstorable(etype, key, env, version)
        return Malformed(reason, truncate(data), event_id, received_at, re_evaluate=True)
    return Malformed(
        _mistyped(etype, key, env, version, ts),
        truncate(data),
        event_id,
        received_at,
        re_evaluate=True,
    )


def _decimal(text: str) -> int | str:
    """A decimal-string version ("7", "-1") as an int; anything else as it was."""
    digits = text[1:] if text[:1] == "-" else text
    if 0 < len(digits) <= _MAX_DECIMAL_DIGITS and digits.isascii() and digits.isdigit():
        return int(text)
    return text


def _iso_seconds(text: str) -> float | str:
    """An ISO-8601 time as Unix seconds (naive means UTC); anything else as it was."""
    if not 0 < len(text) <= _MAX_ISO_LENGTH or not text.isascii() or not text[:1].isdigit():
        return text
    try:
        moment = from_iso(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    except (ValueError, OverflowError):
        return text


def _utf8(text: str) -> bool:
    """False for a lone surrogate (a JSON `\\ud800` escape): no UTF-8 file or terminal takes it."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable(etype: str, key: str, env: str, version: int) -> str:
    for name, value in (("type", etype), ("flag_key", key), ("environment_id", env)):
        if not _utf8(value):
            return f"bad field {name}: not valid Unicode (a lone surrogate)"
    if not key:
        return "bad field flag_key: empty"
    if not INT64_MIN <= version <= INT64_MAX:
        return "bad field version: outside the 64-bit integer range"
    return "bad field timestamp: outside the years 1-9999"


def _mistyped(etype: object, key: object, env: object, version: object, ts: object) -> str:
    for name, value in (("type", etype), ("flag_key", key), ("environment_id", env)):
        if type(value) is not str:
            return f"mistyped field {name}: expected a string, got {value_kind(value)}"
    if type(version) is not int:
        if type(version) is str:
            return "mistyped field version: expected an integer, got a non-decimal string"
        return f"mistyped field version: expected an integer, got {value_kind(version)}"
    if type(ts) is float:
        return "mistyped field timestamp: not a finite number"
    if type(ts) is str:
        return "mistyped field timestamp: expected a number, got a string that is not ISO-8601"
    return f"mistyped field timestamp: expected a number, got {value_kind(ts)}"
