"""ISO-8601 times as servers and users write them, read alike on Python 3.10 and 3.11+.

`datetime.fromisoformat`, with a trailing `Z` read as UTC (a date alone too), and on 3.10 the
forms it refused before 3.11 that are common: a fraction of seconds of any length, and an
offset without its colon (`+0530`). Other forms 3.11 added (basic format, week dates) stay
3.11's own.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone

_BEFORE_311 = sys.version_info < (3, 11)
# The seconds' fraction, `.` or `,` and any number of digits, right after HH:MM:SS.
_FRACTION = re.compile(r"([0-9]{2}:[0-9]{2}:[0-9]{2})[.,]([0-9]+)")
# An offset without its colon, at the end of a time.
_OFFSET = re.compile(r"(:[0-9]{2}(?:\.[0-9]+)?[+-][0-9]{2})([0-9]{2})$")


def _six_digits(match: re.Match[str]) -> str:
    return f"{match[1]}.{(match[2] + '000000')[:6]}"


def from_iso(text: str) -> datetime:
    """The time `text` says; ValueError as `fromisoformat` raises it."""
    utc = text[-1:] in ("Z", "z")
    if utc:
        text = text[:-1]
    if _BEFORE_311:
        text = _OFFSET.sub(r"\1:\2", _FRACTION.sub(_six_digits, text, count=1))
    moment = datetime.fromisoformat(text)
    if utc:
        if moment.tzinfo is not None:
            raise ValueError(f"two time zones in {text!r}Z")
        moment = moment.replace(tzinfo=timezone.utc)
    return moment
