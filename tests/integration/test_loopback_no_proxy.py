"""With HTTP_PROXY / ALL_PROXY set, a plain http:// loopback profile still talks to its server
directly: neither the stream nor an evaluate request (which carries the key) reaches the proxy
(client/tls.py says why). The "proxy" here is a recording server on loopback."""

from __future__ import annotations

import json

import pytest

from tests.integration.rawserver import RawServer, Reply
from tests.integration.test_stream_client_raw import KEY, count, ev, events, make_client, run
from togul_monitor.client.evaluate import EvaluateClient

ANSWER = Reply(
    body=[json.dumps({"flag_key": "a", "value": True, "reason": "default"}).encode()],
    headers=[("Content-Type", "application/json")],
    end="eof",
)


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
async def test_a_loopback_http_stream_and_evaluate_bypass_the_proxy(
    proxy_env: pytest.MonkeyPatch, variable: str
) -> None:
    async with RawServer([Reply(status=502, end="eof")]) as proxy:
        proxy_env.setenv(variable, proxy.base_url)
        async with RawServer([Reply(body=[ev(1)])]) as server:
            client, _ = make_client(server)
            items = await run(client, count(1))
        async with RawServer([ANSWER]) as server:
            evaluate = EvaluateClient(server.base_url, api_key=KEY, environment_key="production")
            try:
                await evaluate.evaluate("a")
            finally:
                await evaluate.aclose()
            assert server.requests and server.requests[0].header("x-api-key") == KEY.encode()
    assert events(items)[0].flag_key == "a"
    assert proxy.requests == []
