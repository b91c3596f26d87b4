"""Every secret the run holds is masked by value wherever server or exception text is shown:
a server (or a proxy) may quote the credential it was sent, in any shape (support/known_secrets.py).
"""

from __future__ import annotations

import logging

import httpx
import pytest

from togul_monitor.client.http import describe, error_text, json_body, read_error_text
from togul_monitor.client.tokens import TokenPair, _error_code
from togul_monitor.config.entry import Profile
from togul_monitor.support.known_secrets import remember_secret, scrub
from togul_monitor.support.logs import SecretMaskingFilter
from togul_monitor.support.plain_errors import plain_words

# Not shaped like a Togul key or a JWT: only its value gives it away.
PLAIN_KEY = "acmeLiveKey0123456789abcdefXYZ"
PLAIN_TOKEN = "opaqueAccessToken-0123456789-QWERTY"
PLAIN_REFRESH = "opaqueRefresh-9876543210-ASDFGH"


def _profile() -> Profile:
    return Profile(
        name="p",
        base_url="http://127.0.0.1:9",
        environment_key="production",
        api_key=PLAIN_KEY,
        token=PLAIN_TOKEN,
        refresh_token=PLAIN_REFRESH,
    )


def _reflecting(status: int) -> httpx.Response:
    message = f"key {PLAIN_KEY} auth Bearer {PLAIN_TOKEN} refresh {PLAIN_REFRESH} rejected"
    return httpx.Response(status, json={"code": "bad_key", "message": message})


def _assert_scrubbed(text: str) -> None:
    for secret in (PLAIN_KEY, PLAIN_TOKEN, PLAIN_REFRESH):
        assert secret not in text
    assert "…" in text


def test_a_resolved_profiles_secrets_are_scrubbed_by_value() -> None:
    _profile()
    said = scrub(f"the server said {PLAIN_KEY} / {PLAIN_TOKEN} / {PLAIN_REFRESH}")
    _assert_scrubbed(said)
    assert said == "the server said …fXYZ / …ERTY / …DFGH"  # mask_secret's form, as everywhere


def test_short_secrets_are_not_looked_for() -> None:
    remember_secret("abc", None, "")
    assert scrub("abc abc") == "abc abc"


async def test_error_bodies_quoting_the_credentials_are_masked() -> None:
    _profile()
    # The stream's (read from a streamed body), evaluate's and the probe's (read whole).
    _assert_scrubbed(await read_error_text(_reflecting(500)))
    _assert_scrubbed(error_text(403, json_body(_reflecting(403))))
    coded = httpx.Response(401, json={"code": f"bad {PLAIN_REFRESH}"})
    _assert_scrubbed(_error_code(coded))


def test_exception_text_and_plain_words_are_masked() -> None:
    _profile()
    _assert_scrubbed(describe(httpx.ReadError(f"peer said {PLAIN_KEY}")))
    words = plain_words(f"HTTP 500: bad_key key {PLAIN_KEY} rejected", "http://127.0.0.1:9")
    _assert_scrubbed(words.text)
    _assert_scrubbed(words.brief)


def test_a_renewed_token_pair_is_scrubbed_from_the_log() -> None:
    token, refresh = "renewedOpaqueToken-abcdefghijkl", "renewedRefresh-mnopqrstuvwx"
    TokenPair(token, refresh)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "%s %s", (token, refresh), None)
    SecretMaskingFilter().filter(record)
    assert token not in record.getMessage() and refresh not in record.getMessage()


@pytest.mark.parametrize("secret", [PLAIN_KEY, PLAIN_TOKEN])
def test_the_log_masks_a_key_of_any_shape(secret: str) -> None:
    _profile()
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "HTTP 500 bad_key: key %s rejected", (secret,), None
    )
    SecretMaskingFilter().filter(record)
    assert secret not in record.getMessage()
    assert "HTTP 500 bad_key: key" in record.getMessage()
