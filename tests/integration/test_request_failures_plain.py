"""Requests other than the stream that fail on the network (the management API, the tokens)
say why in the stream's plain words (client/http.py `network_failure`), never an exception's
class name alone."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from togul_monitor.client.evaluate import EvaluateClient
from togul_monitor.client.management import FlagReader, ManagementError, lookup_environment
from togul_monitor.client.tokens import TokenError, login

REFUSED = "cannot connect to 127.0.0.1:{port}: nothing accepted the connection"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    yield port


@pytest.fixture
def full_port() -> Iterator[int]:
    """A loopback port whose listener never accepts and whose backlog is full: a new
    connection is never made, and the client's connect timeout runs out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    waiting = []
    for _ in range(3):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        waiting.append(sock)
    yield port
    for sock in (*waiting, listener):
        sock.close()


async def test_the_management_api_unreachable_says_why(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(ManagementError) as looked_up:
        await lookup_environment(url, "token", "production")
    reader = FlagReader(url, "p-1", lambda: "token")
    try:
        with pytest.raises(ManagementError) as fetched:
            await reader.fetch_flag("f-1")
    finally:
        await reader.aclose()
    expected = "management API unreachable: " + REFUSED.format(port=closed_port)
    assert str(looked_up.value) == expected
    assert str(fetched.value) == expected


async def test_a_login_without_an_answer_says_why(closed_port: int) -> None:
    with pytest.raises(TokenError) as failed:
        await login(f"http://127.0.0.1:{closed_port}", "me@example.com", "secret-pass")
    assert str(failed.value) == f"/api/v1/login: no answer ({REFUSED.format(port=closed_port)})"
    assert "secret-pass" not in str(failed.value)


async def test_a_connect_timeout_names_the_host_and_the_wait(full_port: int) -> None:
    url = f"http://127.0.0.1:{full_port}"
    client = EvaluateClient(url, api_key="k", environment_key="production", timeout=0.3, attempts=1)
    try:
        result = await client.evaluate("f")
    finally:
        await client.aclose()
    # As the stream says it (client/attempt.py), not the exception's empty text.
    assert result.message == f"127.0.0.1:{full_port} did not answer: connect timed out after 0.3 s"
