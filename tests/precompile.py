"""Rewrite the test modules' asserts once, before xdist's workers start.

Every worker collects the whole suite, and pytest rewrites each test module's asserts as it
imports it: about 10 s of CPU per worker for this suite. pytest caches what it rewrote in
`__pycache__`, but not where PYTHONDONTWRITEBYTECODE is set (CI machines), and on a fresh clone
the workers start together with no cache, so each did the whole rewrite. Done here once, spread
over the machine's cores, the workers find the cache and read it (they read it even where they
may not write it).

This uses pytest's own rewriter and cache format (`_pytest.assertion.rewrite`, private): when
those change, nothing is written and the workers rewrite for themselves as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _rewrite(path: str) -> None:
    """Rewrite one module's asserts into pytest's cache, as a worker would (no assertion-pass
    hook: the suite sets none). Written to a file of its own, then renamed: a worker reading
    at the same time sees the whole file or none."""
    import ast

    from _pytest.assertion import rewrite

    source_path = Path(path)
    cache_dir = rewrite.get_cache_dir(source_path)
    pyc = cache_dir / (source_path.name[:-3] + rewrite.PYC_TAIL)
    if rewrite._read_pyc(source_path, pyc) is not None:
        return  # already cached for this source
    try:
        stat = os.stat(source_path)
        source = source_path.read_bytes()
        tree = ast.parse(source, filename=path)
        rewrite.rewrite_asserts(tree, source, path, None)
        code = compile(tree, path, "exec", dont_inherit=True)
        cache_dir.mkdir(exist_ok=True)
        partial = pyc.with_name(f"{pyc.name}.{os.getpid()}")
        with open(partial, "wb") as out:
            rewrite._write_pyc_fp(out, stat, code)
        os.replace(partial, pyc)
    except (OSError, SyntaxError, ValueError):
        return  # a read-only folder, a module that does not parse: the worker says so


def test_modules(root: Path) -> Iterable[Path]:
    """The modules pytest rewrites here: the test files and the conftest files."""
    for path in sorted(root.rglob("*.py")):
        if path.name == "conftest.py" or path.name.startswith("test_"):
            yield path


def rewrite_all(root: Path) -> None:
    """Every test module under `root` rewritten into pytest's cache, in parallel; nothing when
    pytest's rewriter is not what this expects."""
    try:
        from _pytest.assertion import rewrite

        for name in ("get_cache_dir", "PYC_TAIL", "_read_pyc", "rewrite_asserts", "_write_pyc_fp"):
            getattr(rewrite, name)
    except (ImportError, AttributeError):
        return
    paths = [str(path) for path in test_modules(root)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for _ in pool.map(_rewrite, paths, chunksize=8):
            pass
