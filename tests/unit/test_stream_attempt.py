"""Which wait ran out before the response headers, in the words of a failed attempt."""

from __future__ import annotations

import httpx
import pytest

from togul_monitor.client.attempt import timed_out

TIMEOUT = httpx.Timeout(connect=10.0, read=90.0, write=7.0, pool=5.0)


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ConnectTimeout("x"), "connect timed out after 10 s"),
        (
            httpx.ReadTimeout("x"),
            "the server accepted the connection but sent no response headers within 90 s",
        ),
        (httpx.WriteTimeout("x"), "sending the request timed out after 7 s"),
        (httpx.PoolTimeout("x"), "no connection available within 5 s"),
    ],
)
def test_each_timeout_says_what_it_waited_for(exc: httpx.TimeoutException, words: str) -> None:
    outcome = timed_out(exc, TIMEOUT)
    assert outcome.error == words
    assert not outcome.stop  # every one of them is retried
