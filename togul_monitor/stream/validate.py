"""SSE event data → `FlagEvent`, or `Malformed` with the reason. Never raises.

The payload is documented (togul-api.md §3.3) as a one-line JSON object with `type`,
`flag_key`, `environment_id` (strings), `version` (integer) and `timestamp` (Unix time). Extra
fields are ignored; an unknown `type` passes through (`FlagEvent.known_type` is False) so that a
newer server's events are shown, not dropped.
"""

from __future__ import annotations

import json
import math

from togul_monitor.stream.events import FlagEvent, Malformed

#: Payloads larger than this (UTF-8 bytes) are refused before parsing.
MAX_PAYLOAD_BYTES = 1 << 20
#: How much of a bad payload a Malformed item keeps.
RAW_KEEP = 512

_loads = json.loads
_scan_once = json.JSONDecoder().scan_once
_JSON_WS = " \t\n\r"
_NOTHING = object()
_FIELDS = ("type", "flag_key", "environment_id", "version", "timestamp")


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
        return Malformed(f"not an object: {_json_kind(obj)}", truncate(data), event_id, received_at)
    try:
        etype = obj["type"]
        key = obj["flag_key"]
        env = obj["environment_id"]
        version = obj["version"]
        ts = obj["timestamp"]
    except KeyError:
        missing = [name for name in _FIELDS if name not in obj]
        return Malformed(
            "missing field" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            truncate(data),
            event_id,
            received_at,
        )
    # `type(x) is int` rather than isinstance: a JSON true must not pass as version 1.
    if (
        type(etype) is str
        and type(key) is str
        and type(env) is str
        and type(version) is int
        and (type(ts) is int or (type(ts) is float and math.isfinite(ts)))
    ):
        return FlagEvent(etype, key, env, version, ts, event_id, received_at)
    return Malformed(_mistyped(etype, key, env, version, ts), truncate(data), event_id, received_at)


def _mistyped(etype: object, key: object, env: object, version: object, ts: object) -> str:
    for name, value in (("type", etype), ("flag_key", key), ("environment_id", env)):
        if type(value) is not str:
            return f"mistyped field {name}: expected a string, got {_json_kind(value)}"
    if type(version) is not int:
        return f"mistyped field version: expected an integer, got {_json_kind(version)}"
    if type(ts) is float:
        return "mistyped field timestamp: not a finite number"
    return f"mistyped field timestamp: expected a number, got {_json_kind(ts)}"


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
