"""ISO-8601 times read as Python 3.11's `datetime.fromisoformat` reads them, on 3.10 as well.

Servers and users write `2026-11-30T16:00:00Z` and fractions of any length
(`…:20.5Z`); before 3.11 `fromisoformat` refused both (only `+00:00`, and 3 or 6 digits).
"""

from __future__ import annotations

import re
import sys
from datetime import datetime

_BEFORE_311 = sys.version_info < (3, 11)
# The seconds' fraction, `.` or `,` and any number of digits, right after HH:MM:SS.
_FRACTION = re.compile(r"(\d\d:\d\d:\d\d)[.,](\d+)")


def _six_digits(match: re.Match[str]) -> str:
    return f"{match[1]}.{(match[2] + '000000')[:6]}"


def from_iso(text: str) -> datetime:
    """`datetime.fromisoformat(text)`, a trailing `Z` (or `z`) read as UTC; ValueError as it."""
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    if _BEFORE_311:
        text = _FRACTION.sub(_six_digits, text, count=1)
    return datetime.fromisoformat(text)
