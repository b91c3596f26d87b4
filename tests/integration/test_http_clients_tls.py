"""Clients made for an `http://` base URL load no CA bundle (client/tls.py); `https://` ones
still verify. Real requests to the emulator over loopback prove the `http://` clients work."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from togul_monitor.client.environment_check import Verdict, probe_environment
from togul_monitor.client.evaluate import EvaluateClient, Outcome
from togul_monitor.client.management import FlagReader
from togul_monitor.client.tls import verify_for
from togul_monitor.emulator.harness import EmulatorHandle


@pytest.fixture
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every `ssl.create_default_context` call (what loading the CA bundle starts with)."""
    calls: list[object] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return calls


def test_verify_for_turns_verification_off_only_for_plain_http() -> None:
    assert verify_for("http://127.0.0.1:8080") is False
    assert verify_for("HTTP://Example.com/x") is False
    assert verify_for("https://example.com") is True
    assert verify_for("https://example.com", verify=False) is False
    assert verify_for("httpx://odd") is True  # not plain http: the caller's choice stands


async def test_http_clients_load_no_ca_bundle_and_still_work(
    emulator: EmulatorHandle, contexts_made: list[object]
) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    client = EvaluateClient(emulator.base_url, api_key=key, environment_key="production")
    try:
        result = await client.evaluate("new-dashboard")
    finally:
        await client.aclose()
    assert result.outcome is Outcome.OK
    probe = await probe_environment(emulator.base_url, key, "production", flag_key="new-dashboard")
    assert probe.verdict is Verdict.BELONGS
    reader = FlagReader(emulator.base_url, "p-1", lambda: "token")
    await reader.aclose()
    assert contexts_made == []


async def test_https_clients_still_verify(contexts_made: list[object]) -> None:
    client = EvaluateClient("https://togul.example", api_key="k", environment_key="production")
    reader = FlagReader("https://togul.example", "p-1", lambda: "token")
    await client.aclose()
    await reader.aclose()
    assert len(contexts_made) == 2
