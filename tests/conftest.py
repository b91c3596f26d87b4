"""Test isolation shared by every test: no test reads or writes the user's real files."""

from __future__ import annotations

import compileall
from collections.abc import Iterator
from pathlib import Path

import pytest

import togul_monitor
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

from .precompile import after_session, before_workers

_REWRITTEN = pytest.StashKey[list[str]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the package once, as an installed program is: the suite runs the program in a
    subprocess many times, and where PYTHONDONTWRITEBYTECODE is set (CI machines) each of them
    compiled every module it imported anew. Done by the controller, before xdist's workers,
    with the test modules' rewritten asserts (tests/precompile.py)."""
    if not hasattr(session.config, "workerinput"):
        compileall.compile_dir(Path(togul_monitor.__file__).parent, quiet=1)
        session.config.stash[_REWRITTEN] = before_workers(session.config, Path(__file__).parent)


def pytest_sessionfinish(session: pytest.Session) -> None:
    after_session(session.config.stash.get(_REWRITTEN, []))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point TOGUL_MONITOR_HOME at a fresh folder and clear the override variables."""
    home = tmp_path / "togul-home"
    monkeypatch.setenv("TOGUL_MONITOR_HOME", str(home))
    for var in ("TOGUL_MONITOR_PROFILE", "TOGUL_BASE_URL", "TOGUL_API_KEY", "TOGUL_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """A fresh seeded emulator (seed 0) on a free 127.0.0.1 port: heartbeat 0.2 s, with ids
    (`id:` lines, `retry:`, replay of 1000), which many of its tests check or rely on. The
    monitor's integration tests run in both stream forms: `emulator_any` in
    tests/integration/conftest.py."""
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=True) as emu:
        yield emu


@pytest.fixture(autouse=True)
def demo_registered() -> None:
    """The CLI registers the demo as a profile source at start; tests that build the app or
    resolve profiles directly get the same registry."""
    from togul_monitor import demo

    demo.register()


@pytest.fixture(params=["sqlite", "postgres"])
def journal_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A journal in each backend (tests/journal_backends.py): SQLite, and PostgreSQL when
    TOGUL_TEST_POSTGRES_URL names a server (skipped, saying so, when it does not)."""
    from .journal_backends import backend

    with backend(request.param, tmp_path) as made:
        yield made
