"""ISO-8601 times read alike on Python 3.10 and 3.11+ (support/isotime.py)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest

from togul_monitor.support import isotime

UTC = timezone.utc


# The normalising path Python 3.10 takes runs on any version; the plain one from 3.11 on.
@pytest.mark.parametrize("before_311", [True] + ([False] if sys.version_info >= (3, 11) else []))
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-14T22:13:20.5z", datetime(2023, 11, 14, 22, 13, 20, 500_000, UTC)),
        ("2023-11-14T22:13:20Z", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2023-11-14T22:13:20,123456789+01:00", datetime(
            2023, 11, 14, 22, 13, 20, 123_456, timezone(timedelta(hours=1)))),
        ("2026-11-27T14:00", datetime(2026, 11, 27, 14, 0)),
        ("2026-11-27Z", datetime(2026, 11, 27, tzinfo=UTC)),  # a date alone, in UTC
        ("2023-11-14T22:13:20.5-0800", datetime(
            2023, 11, 14, 22, 13, 20, 500_000, timezone(timedelta(hours=-8)))),
    ],
)  # fmt: skip
def test_the_forms_servers_and_users_write(
    text: str, expected: datetime, before_311: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isotime, "_BEFORE_311", before_311)
    assert isotime.from_iso(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2023-11-14T22:13:20+00:00Z", "2023-11-14T٢٢:13"])
def test_what_is_no_time_stays_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        isotime.from_iso(text)
