"""The configuration stage imports one way and nothing above it; built-in profiles come from
sources a higher layer registers (the demo's, from the command line)."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator, Mapping
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import togul_monitor
from togul_monitor.config import resolve
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import load_config

PACKAGE = Path(togul_monitor.__file__).parent


def imported_by(path: Path) -> set[str]:
    """Every togul_monitor module `path` imports, anywhere in it (functions, TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from togul_monitor.config import paths`: a module
                submodule = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / (submodule.replace(".", "/") + ".py")).exists()
                found.add(submodule if is_module else node.module)
    return {name for name in found if name.startswith("togul_monitor")}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_config_imports_run_one_way_and_only_downwards() -> None:
    graph: dict[str, set[str]] = {}
    for path in sorted((PACKAGE / "config").glob("*.py")):
        name = module_name(path)
        imports = imported_by(path)
        allowed = ("togul_monitor.config", "togul_monitor.support", "togul_monitor.protocol")
        assert all(i.startswith(allowed) for i in imports), (name, sorted(imports))
        graph[name] = {i for i in imports if i.startswith("togul_monitor.config.")}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message
        pytest.fail(f"import cycle in config: {exc.args[1]}")


def test_support_logs_imports_nothing_above_support() -> None:
    imports = imported_by(PACKAGE / "support" / "logs.py")
    assert all(i.startswith(("togul_monitor.support", "togul_monitor.protocol")) for i in imports)


class FakeSource:
    """A built-in profile source as a higher layer would offer one."""

    def __init__(self) -> None:
        self.sessions: list[str] = []

    def names(self) -> Mapping[str, str]:
        return {"demo-production": "production", "demo-staging": "staging"}

    def listed(self) -> list[Profile]:
        return [self._profile(name) for name in self.names()]

    def pinned(self, name: str) -> Profile:
        return self._profile(name)

    @contextlib.contextmanager
    def session(self, name: str) -> Iterator[Profile]:
        self.sessions.append(name)
        yield self._profile(name)

    def _profile(self, name: str) -> Profile:
        env = self.names()[name]
        return Profile(name, "http://127.0.0.1:1", env, api_key="k", builtin=True)


@pytest.fixture
def no_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry of its own for the test (the demo may have registered in this process)."""
    monkeypatch.setattr(resolve, "_SOURCES", {})


@pytest.mark.usefixtures("no_sources")
def test_a_registered_source_is_listed_looked_up_and_opened() -> None:
    source = FakeSource()
    resolve.register_profile_source(resolve.DEMO_SOURCE, source)
    assert [p.name for p in resolve.list_profiles()] == ["demo-production", "demo-staging"]
    assert resolve.resolve_profile("demo-staging").environment_key == "staging"
    with resolve.open_target(demo=True, environment="staging") as profile:
        assert profile.name == "demo-staging"
    with resolve.open_target(demo_fallback=True) as profile:  # nothing configured: the TUI
        assert profile.name == "demo-production"  # opens the demo source's first
    assert source.sessions == ["demo-staging", "demo-production"]
    with pytest.raises(ConfigError, match="did you mean 'demo-staging'"):
        resolve.resolve_profile("demo-stagin")


@pytest.mark.usefixtures("no_sources")
def test_without_a_source_there_are_no_built_in_profiles() -> None:
    assert resolve.list_profiles() == []
    with pytest.raises(ConfigError, match="no profile configured"):
        resolve.choose_profile_name(load_config(), None, demo_fallback=True)
    with pytest.raises(ConfigError, match="demo is not available"):
        with resolve.open_target(demo=True):
            pass
