"""The environment matrix's rows, without Textual: flags × the project's environments.

Each cell is the flag's switch, default and rules in one line in that environment. A cell is
marked when that environment's configuration differs from the reference environment's (A: the
profile's, unless chosen otherwise), compared as `compare` compares (domain/env_compare.py); a
row differs when its flag is not the same in every environment. The last column says how the
flag differs between the two environments chosen, A and B.

Server text is escaped here (`safe_text`, `show`); the screen appends it as plain Text.
"""

from __future__ import annotations

import msgspec
from rich.cells import cell_len

from togul_monitor.core.env_configs import ProjectConfigs
from togul_monitor.domain.env_compare import compare_flag, same_everywhere
from togul_monitor.domain.env_compare_words import flag_summary
from togul_monitor.domain.flag_config import FlagConfig, show
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.format import fmt_age
from togul_monitor.ui.view.inventory import rules_line

ABSENT = "—"
MARK = "≠ "  # before a cell that differs from A's: visible without colour too


class MatrixRow(msgspec.Struct, frozen=True):
    key: str  # the flag key as the server sent it (the row's id)
    label: str  # the key, safe to print
    cells: tuple[str, ...]  # one per environment, in the project's order
    marked: tuple[bool, ...]  # the cell differs from the reference environment's
    differs: bool  # not the same in every environment
    summary: str  # how it differs between A and B


def cell_text(config: FlagConfig | None) -> str:
    """`on false · plan in premium, enterprise → true`; `—` where the flag does not exist."""
    if config is None:
        return ABSENT
    switch = "on" if config.enabled else "off"
    return f"{switch} {show(config.default_value, 16)} · {rules_line(config)}"


def matrix_rows(project: ProjectConfigs, env_a: str, env_b: str) -> list[MatrixRow]:
    """Every flag of any environment, by key."""
    envs = [e.key for e in project.environments]
    configs = project.configs
    keys = sorted({key for flags in configs.values() for key in flags})
    rows = []
    for key in keys:
        found = [configs.get(env, {}).get(key) for env in envs]
        reference = configs.get(env_a, {}).get(key)
        marked = tuple(
            env != env_a and not compare_flag(key, reference, config).matches
            if reference is not None or config is not None
            else False
            for env, config in zip(envs, found, strict=True)
        )
        pair = compare_flag(key, configs.get(env_a, {}).get(key), configs.get(env_b, {}).get(key))
        rows.append(
            MatrixRow(
                key=key,
                label=safe_text(key),
                cells=tuple(cell_text(config) for config in found),
                marked=marked,
                differs=not same_everywhere({e: configs.get(e, {}) for e in envs}, key),
                summary=flag_summary(pair, env_a, env_b, short=True),
            )
        )
    return rows


def header_line(
    project: ProjectConfigs | None,
    env_a: str,
    env_b: str,
    *,
    only_differ: bool,
    shown: int,
    now: float,
    busy: bool,
    error: str | None,
    cadence: str = "",
    max_flags: int = 0,
) -> str:
    """One line: what is compared, how many rows, when the matrix was last read and how often
    (`cadence`), and which environments have more than the `max_flags` flags read."""
    if project is None:
        state = f"failed: {safe_text(error)}" if error else "reading every environment's flags…"
        return state
    differing = f"{shown:,} flag{'' if shown == 1 else 's'}" + (
        " that differ" if only_differ else ""
    )
    age = fmt_age(max(0.0, now - project.read_at))
    parts = [
        f"A {safe_text(env_a)} ↔ B {safe_text(env_b)}",
        differing,
        f"refreshed {age} ago" + (" · refreshing…" if busy else ""),
    ]
    if cadence:
        parts.append(cadence)
    if project.capped:
        envs = ", ".join(safe_text(env) for env in project.capped[:3])
        more = f" (+{len(project.capped) - 3})" if len(project.capped) > 3 else ""
        parts.append(f"first {max_flags:,} flags only in {envs}{more}")
    if error:
        parts.append(f"last refresh failed: {safe_text(error)}")
    return " · ".join(parts)


def pair_label(env_a: str, env_b: str, width: int) -> str:
    """The last column's header: `production → staging`, or `A → B` where that would be cut
    (`production → s`); the header line says which A and B are."""
    label = f"{env_a} → {env_b}"
    return label if cell_len(label) <= width else "A → B"


def next_environment(project: ProjectConfigs, current: str, skip: str | None = None) -> str:
    """The environment after `current` in the project's order (wrapping), other than `skip`
    when there is another."""
    envs = [e.key for e in project.environments]
    if not envs:
        return current
    start = envs.index(current) if current in envs else -1
    for step in range(1, len(envs) + 1):
        candidate = envs[(start + step) % len(envs)]
        if candidate != skip or len(envs) == 1:
            return candidate
    return current


def no_other(project: ProjectConfigs | None, env_a: str, env_b: str) -> str:
    """Why `a` or `b` leaves A and B as they are (`""`: it moves one): nothing read yet, or no
    environment beside the two shown (a pressed key says so, not nothing)."""
    if project is None:
        return "no environments to choose from: none read yet"
    envs = [e.key for e in project.environments]
    if len(envs) > 2:
        return ""
    a, b = safe_text(env_a), safe_text(env_b)
    if len(envs) == 2:
        return f"only two environments, A {a} and B {b}: no other to choose"
    if len(envs) == 1:
        return f"{a} is the project's only environment: no other to choose"
    return "the project has no environments"


def default_pair(project: ProjectConfigs, profile_environment: str | None) -> tuple[str, str]:
    """A: the profile's environment (else the first); B: the next one."""
    envs = [e.key for e in project.environments]
    if not envs:
        return "", ""
    env_a = profile_environment if profile_environment in envs else envs[0]
    return env_a, next_environment(project, env_a, skip=env_a)
