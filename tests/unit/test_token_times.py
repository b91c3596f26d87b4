"""A token's lifetime read from its JWT (unverified) and when the monitor refreshes it."""

from __future__ import annotations

import base64
import json

from togul_monitor.client.tokens import jwt_times, refresh_time


def jwt(claims: object) -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{b64(b'{}')}.{b64(json.dumps(claims).encode())}.{b64(b'signature')}"


def test_the_claims_are_read_without_verifying_the_signature() -> None:
    assert jwt_times(jwt({"iat": 1000, "exp": 4600})) == (1000.0, 4600.0)
    assert jwt_times(jwt({"exp": 4600.5})) == (None, 4600.5)
    # Not a JWT, not JSON, not numbers: nothing is known, nothing is guessed.
    assert jwt_times("not-a-token") == (None, None)
    assert jwt_times("a.b!.c") == (None, None)
    assert jwt_times(jwt([1, 2])) == (None, None)
    assert jwt_times(jwt({"iat": "1000", "exp": True})) == (None, None)
    assert jwt_times(None) == (None, None)


def test_refresh_comes_a_minute_or_a_tenth_of_the_lifetime_early_whichever_is_less() -> None:
    # An hour's token: a minute before it expires (a tenth would be six minutes).
    assert refresh_time(1000.0, 4600.0, first_seen=2000.0) == 4540.0
    # A three-second token: 0.3 s before (a minute would be before it was even issued).
    assert abs(refresh_time(1000.0, 1003.0, first_seen=1000.0) - 1002.7) < 1e-9
    # No `iat`: the lifetime runs from when the token was first seen.
    assert abs(refresh_time(None, 1010.0, first_seen=1000.0) - 1009.0) < 1e-9
    # An `iat` after the expiry is nonsense: the first sighting counts instead.
    assert abs(refresh_time(5000.0, 1010.0, first_seen=1000.0) - 1009.0) < 1e-9
