"""A stream redirect must lead where the base URL could point (client/attempt.py
`redirect_target`): plain http:// only to a loopback host, unless the profile allows it."""

from __future__ import annotations

import httpx
import pytest

from togul_monitor.client.attempt import Outcome, redirect_target


def answer(base: str, location: str) -> httpx.Response:
    request = httpx.Request("GET", base + "/api/v1/stream")
    return httpx.Response(307, headers={"Location": location}, request=request)


@pytest.mark.parametrize(
    ("base", "location"),
    [
        ("http://127.0.0.1:18599", "http://192.0.2.2:18598/api/v1/stream"),
        ("https://api.togul.io", "http://api.togul.io/api/v1/stream"),
        ("http://localhost:1", "//flags.example.com/api/v1/stream"),  # scheme-relative: http
    ],
)
def test_plain_http_to_another_host_is_refused_unless_allowed(base: str, location: str) -> None:
    refused = redirect_target(answer(base, location), allow_insecure=False)
    assert isinstance(refused, Outcome) and refused.stop
    assert "plain http://" in refused.error and "refused" in refused.error
    assert "allow_insecure" in refused.error
    allowed = redirect_target(answer(base, location), allow_insecure=True)
    assert isinstance(allowed, httpx.URL) and allowed.scheme == "http"


@pytest.mark.parametrize(
    ("base", "location", "target"),
    [
        ("http://127.0.0.1:1", "/moved/stream", "http://127.0.0.1:1/moved/stream"),
        ("http://127.0.0.1:1", "http://localhost:2/s", "http://localhost:2/s"),
        ("http://127.0.0.1:1", "https://api.togul.io/s", "https://api.togul.io/s"),
        ("https://api.togul.io", "https://eu.togul.io/s", "https://eu.togul.io/s"),
    ],
)
def test_https_and_loopback_targets_are_followed(base: str, location: str, target: str) -> None:
    assert redirect_target(answer(base, location), allow_insecure=False) == httpx.URL(target)
