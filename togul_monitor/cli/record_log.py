"""The recorder's log: one line on stderr per notable thing, in logfmt or JSON.

`record` runs under a service manager (systemd, a container runtime) whose log collector reads
stderr line by line, so each record is exactly one line: `ts`, `level`, `msg`, then the fields
(`profile` first when there is one). Every value goes through `safe_text` (a flag key or an
error text from the server may hold a newline or an escape sequence that would forge a line)
and `mask_secrets_in` (a credential that slipped into an error text is masked as it is in the
log file); callers pass secrets only through `mask_secret`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final, TextIO

from togul_monitor.support.logs import mask_secrets_in
from togul_monitor.support.text import safe_text

LOG_FORMATS: Final = ("logfmt", "json")
LEVELS: Final = ("debug", "info", "warn", "error")

# A logfmt value needs quotes when it is empty or holds a blank, a quote, `=` or a backslash.
_NEEDS_QUOTES = re.compile(r'[\s"=\\]')

Value = str | int | float | bool | None


def iso_utc(at: float) -> str:
    """`2026-11-30T03:04:05.123Z`: what log collectors parse without configuration."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
    return f"{seconds}.{int(at % 1 * 1000):03d}Z"


def _clean(value: Value) -> Value:
    """A field's value fit for one line: text made safe and masked; numbers as they are."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return safe_text(mask_secrets_in(value))


def _logfmt_value(value: Value) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_logfmt(fields: Mapping[str, Value]) -> str:
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields.items())


def format_json(fields: Mapping[str, Value]) -> str:
    # The values are safe text already (no control character): one line, readable as is.
    return json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))


class RecordLog:
    """Writes the recorder's log lines; safe from any thread (the metrics server's, say)."""

    def __init__(
        self, out: TextIO, *, fmt: str = "logfmt", clock: Callable[[], float] = time.time
    ) -> None:
        if fmt not in LOG_FORMATS:
            raise ValueError(f"unknown log format {fmt!r}")
        self._out = out
        self._format = format_json if fmt == "json" else format_logfmt
        self._clock = clock
        self._lock = threading.Lock()  # one whole line at a time, whichever thread writes

    def line(self, level: str, msg: str, /, **fields: Value) -> None:
        record: dict[str, Value] = {"ts": iso_utc(self._clock()), "level": level, "msg": msg}
        for key, value in fields.items():
            record[key] = _clean(value)
        text = self._format(record) + "\n"
        with self._lock:
            try:
                self._out.write(text)
                self._out.flush()
            except (OSError, ValueError):
                pass  # stderr closed (the collector went away): recording goes on regardless

    def info(self, msg: str, /, **fields: Value) -> None:
        self.line("info", msg, **fields)

    def warn(self, msg: str, /, **fields: Value) -> None:
        self.line("warn", msg, **fields)

    def error(self, msg: str, /, **fields: Value) -> None:
        self.line("error", msg, **fields)
