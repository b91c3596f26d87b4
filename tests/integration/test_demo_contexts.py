"""The demo profiles' named contexts: present in both, and chosen so that the seeded world's
rules give them visibly different values (asked of the demo's own emulator over loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from togul_monitor import demo
from togul_monitor.config.entry import MAX_CONTEXTS


@pytest.fixture(autouse=True)
def still_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo without its simulated changes: the seeded rules stay as seeded."""
    monkeypatch.setattr(demo, "SIMULATE_EVENTS_PER_SECOND", 0.0)
    monkeypatch.setattr(demo, "HEARTBEAT_SECONDS", 0.2)
    demo.shutdown()
    yield
    demo.shutdown()


def test_both_demo_profiles_evaluate_three_contexts() -> None:
    for profile in demo.demo_profiles():
        assert list(profile.evaluation_contexts) == ["default", "free", "eu"]
        assert len(profile.evaluation_contexts) <= MAX_CONTEXTS


def test_the_contexts_get_different_values_from_the_seeded_rules() -> None:
    with demo.demo_session() as server:
        profile = demo.demo_profile("demo-production", server)
        values: dict[str, dict[str, object]] = {}
        with httpx.Client(base_url=profile.base_url, timeout=5.0) as client:
            for flag in ("api-rate-limit", "welcome-message", "new-dashboard"):
                values[flag] = {}
                for name, context in profile.evaluation_contexts.items():
                    response = client.post(
                        "/api/v1/evaluate",
                        headers={"X-API-Key": profile.api_key or ""},
                        json={
                            "flag_key": flag,
                            "environment_key": profile.environment_key,
                            "context": context,
                        },
                    )
                    assert response.status_code == 200, response.text
                    values[flag][name] = response.json()["value"]
    # plan: 1000 premium, 100 free; country: TR, neither, DE.
    assert values["api-rate-limit"] == {
        "default": 1000,
        "free": 100,
        "eu": 1000,
    }
    assert len(set(values["welcome-message"].values())) == 3
    assert values["welcome-message"]["eu"] == "Willkommen!"
    assert values["new-dashboard"]["free"] is False and values["new-dashboard"]["eu"] is True
