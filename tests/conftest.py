"""Test isolation shared by every test: no test reads or writes the user's real files."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point TOGUL_MONITOR_HOME at a fresh folder and clear the override variables."""
    home = tmp_path / "togul-home"
    monkeypatch.setenv("TOGUL_MONITOR_HOME", str(home))
    for var in ("TOGUL_MONITOR_PROFILE", "TOGUL_BASE_URL", "TOGUL_API_KEY", "TOGUL_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return home
