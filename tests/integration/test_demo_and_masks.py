"""`--demo` needs no profile file, so a broken one does not stop it (it is still reported); and
one secret is masked the same way wherever it is shown."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from togul_monitor import demo
from togul_monitor.cli import cli
from togul_monitor.config import paths
from togul_monitor.config.entry import ProfileEntry
from togul_monitor.support.logs import SecretMaskingFilter, mask_secrets_in
from togul_monitor.support.text import mask_secret

KEY = "tgl_sdk_Zx81mQ0pLr5TtY2wV9cB4nA7VI1U"
REFRESH = "tgl_rt_4f0d8a2c9e1b7f3a6d5c8e2b0a9f7d1c3e5b4a2f"


@pytest.fixture
def fast_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    demo.register()
    monkeypatch.setattr(demo, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(demo, "SIMULATE_EVENTS_PER_SECOND", 40.0)
    demo.shutdown()
    yield
    demo.shutdown()


def test_the_demo_starts_beside_a_broken_profile_file(fast_demo: None) -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[profiles.p\nbase_url = "x"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["tail", "--demo", "--json", "--count", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len([o for o in lines if o.get("kind", "event") == "event"]) == 2  # the demo's events
    assert f"{path}:1:" in result.stderr  # the broken file is still reported
    # Any other target still refuses it.
    other = CliRunner().invoke(cli, ["tail", "--url", "https://a.example", "--api-key", KEY])
    assert other.exit_code == 2 and f"{path}:1:" in other.stderr


def test_one_secret_is_masked_the_same_way_everywhere() -> None:
    shown = mask_secret(KEY)
    assert shown == "tgl_sdk_…VI1U"
    # A listing of the file, a log line and the bare mask agree...
    entry = ProfileEntry("p", "https://api.togul.io", "production", api_key=KEY)
    assert entry.credential_summary() == f"api key {shown}"
    assert mask_secrets_in(f"connecting with {KEY}.") == f"connecting with {shown}."
    # ...and a key read with a line break around it is the same key, masked alike.
    assert mask_secret(KEY + "\n") == shown and mask_secret(f" {KEY} ") == shown
    # A refresh token keeps its prefix on screen and never reaches a log line whole.
    assert mask_secret(REFRESH) == "tgl_rt_…4a2f"
    assert mask_secrets_in(f"refreshed with {REFRESH}") == "refreshed with tgl_rt_…4a2f"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "rt=%s", (REFRESH,), None)
    SecretMaskingFilter().filter(record)
    assert REFRESH not in record.getMessage() and "tgl_rt_…4a2f" in record.getMessage()
