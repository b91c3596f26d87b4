"""Which credential opens the stream: one decision for the monitor and the client."""

from __future__ import annotations

import pytest

from togul_monitor.client.credentials import Offered, StreamCredentials, stream_credentials
from togul_monitor.config.profiles import Profile

SDK = "tgl_sdk_0123456789abcdef9f2c"
STR = "tgl_str_0123456789abcdef9f2c"
SRV = "tgl_srv_0123456789abcdef9f2c"
JWT = "eyJhbGciOiJIUzI1NiJ9.e30.sig"


@pytest.mark.parametrize(
    ("api_key", "token", "expected"),
    [
        (SDK, JWT, StreamCredentials(api_key=SDK)),  # a streaming key wins over the token
        (STR, JWT, StreamCredentials(api_key=STR)),
        (SRV, JWT, StreamCredentials(token=JWT)),  # a server key cannot stream
        (None, JWT, StreamCredentials(token=JWT)),
        ("", JWT, StreamCredentials(token=JWT)),
        (SRV, None, StreamCredentials(api_key=SRV)),  # nothing better: the 403 says why
        (None, None, StreamCredentials()),
    ],
)
def test_the_choice(api_key: str | None, token: str | None, expected: StreamCredentials) -> None:
    assert stream_credentials(Offered(api_key, token)) == expected
    profile = Profile("p", "http://127.0.0.1:1", "production", api_key=api_key, token=token)
    assert stream_credentials(profile) == expected


def test_the_token_can_be_kept_off_the_stream() -> None:
    chosen = stream_credentials(Offered(SRV, JWT), token_allowed=False)
    assert chosen == StreamCredentials(api_key=SRV) and chosen.environment_scoped


def test_headers_and_scope() -> None:
    assert StreamCredentials(api_key=SDK).headers() == {"X-API-Key": SDK}
    bearer = StreamCredentials(token=JWT)
    assert bearer.headers() == {"Authorization": f"Bearer {JWT}"}
    assert not bearer.environment_scoped
    assert StreamCredentials().headers() == {}
    assert SDK not in repr(StreamCredentials(api_key=SDK))  # secrets never in a repr
