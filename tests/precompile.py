"""Rewrite the test modules' asserts once, before xdist's workers start.

Every worker collects the suite, and pytest rewrites each test module's asserts as it imports
it: about 10 s of CPU per worker for this suite. pytest caches what it rewrote in `__pycache__`,
but not where PYTHONDONTWRITEBYTECODE is set (CI machines), and on a fresh clone the workers
start together with no cache, so each did the whole rewrite. Done here once, spread over the
machine's cores, the workers find the cache and read it (they read it even where they may not
write it).

Always written anew from the source of the moment (a cached file is trusted by its source's
size and mtime in whole seconds: an edit within the second that keeps the size would not be
seen), and, where bytecode is not to be written, removed when the session ends, so a later run
without workers never reads them.

This uses pytest's own rewriter and cache format (`_pytest.assertion.rewrite`, private): when
those change, or anything here fails, nothing is written and the workers rewrite for
themselves as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest


def _rewrite(path: str) -> str | None:
    """Rewrite one module's asserts into pytest's cache, as a worker would (no assertion-pass
    hook: `rewrite_all` is not used with one); the file written, or None. Written to a file of
    its own, then renamed: a worker reading at the same time sees the whole file or none."""
    import ast

    from _pytest.assertion import rewrite

    try:
        source_path = Path(path)
        pyc = _cache_of(source_path)
        cache_dir = pyc.parent
        stat = os.stat(source_path)
        source = source_path.read_bytes()
        tree = ast.parse(source, filename=path)
        rewrite.rewrite_asserts(tree, source, path, None)
        code = compile(tree, path, "exec", dont_inherit=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = pyc.with_name(f"{pyc.name}.{os.getpid()}")
        with open(partial, "wb") as out:
            rewrite._write_pyc_fp(out, stat, code)
        os.replace(partial, pyc)
    except Exception:  # noqa: BLE001 - a module that does not parse, a read-only folder...
        return None  # ...or a rewriter changed: the worker rewrites it, and says what fails
    return str(pyc)


def test_modules(paths: Sequence[Path], root: Path) -> list[Path]:
    """The modules pytest rewrites for a run of `paths` (files or folders), under `root` only
    (a run of `.` would find `test_*.py` in installed packages too): their test files, and every
    conftest file under `root`."""
    found = set(root.rglob("conftest.py"))
    for path in paths:
        if path.is_dir() and root.is_relative_to(path):
            path = root  # the project, or a folder above it: the suite
        if not path.is_relative_to(root):
            continue
        if path.is_dir():
            found.update(path.rglob("test_*.py"))
        elif path.name.startswith("test_") and path.suffix == ".py":
            found.add(path)
    return sorted(found)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def rewrite_all(modules: Iterable[Path], workers: int) -> list[str]:
    """`modules` rewritten into pytest's cache by up to `workers` processes; the files
    written. Nothing when pytest's rewriter is not what this expects, or the pool fails."""
    paths = [str(path) for path in modules]
    try:
        from _pytest.assertion import rewrite

        for name in ("get_cache_dir", "PYC_TAIL", "rewrite_asserts", "_write_pyc_fp"):
            getattr(rewrite, name)
        with ProcessPoolExecutor(max_workers=max(1, min(workers, _cores()))) as pool:
            return [pyc for pyc in pool.map(_rewrite, paths, chunksize=8) if pyc is not None]
    except BaseException as exc:  # no pool here (no sem_open), a child killed, Ctrl-C...
        # Children may have written some: none is left where bytecode is not to be written.
        with contextlib.suppress(Exception):
            after_session([str(_cache_of(Path(path))) for path in paths])
        if isinstance(exc, Exception):
            return []
        raise


def _cache_of(source: Path) -> Path:
    from _pytest.assertion import rewrite

    return rewrite.get_cache_dir(source) / (source.name[:-3] + rewrite.PYC_TAIL)


def before_workers(config: pytest.Config, root: Path) -> list[str]:
    """In xdist's controller, with workers to come and asserts rewritten as the suite sets
    them: the run's test modules rewritten once (`rewrite_all`); the files written."""
    workers = getattr(config.option, "numprocesses", None)
    if not workers or hasattr(config, "workerinput"):
        return []
    if config.getoption("assertmode") != "rewrite" or config.getini("enable_assertion_pass_hook"):
        return []
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return rewrite_all(test_modules(paths, root), int(workers))


def after_session(written: list[str]) -> None:
    """Where bytecode is not to be written, the files `before_workers` wrote go again."""
    if not sys.dont_write_bytecode:
        return  # pytest keeps such a cache itself here: these are what it would have written
    for pyc in written:
        try:
            os.remove(pyc)
        except OSError:
            pass
