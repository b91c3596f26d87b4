"""What the coverage screen (`o`) shows, Textual-free: the progress line, and per context its
title, a row per value (share, count) and a row per rule (how it meets the context; for a
percentage rule configured against observed). Server text is made safe here (`safe_text`)."""

from __future__ import annotations

import msgspec

from togul_monitor.domain.coverage import ContextCoverage, CoverageResult
from togul_monitor.domain.coverage_change import change_words
from togul_monitor.domain.coverage_words import OFF_NOTE, percent, recheck_words
from togul_monitor.domain.flag_config import show
from togul_monitor.support.text import safe_text


class CoverageTable(msgspec.Struct, frozen=True):
    """One context's part of the screen."""

    title: str
    values: list[tuple[str, str, str]]  # value, share, count
    rules: list[tuple[str, str, str, str]]  # rule, how it meets the context, configured, observed
    notes: list[str]


def progress_line(flag_key: str, done: int, total: int) -> str:
    share = f" ({100 * done // total} %)" if total else ""
    return f"{safe_text(flag_key)}: sampling… {done} of {total} evaluate requests{share}"


def summary_line(result: CoverageResult) -> str:
    varied = ", ".join(safe_text(name) for name in result.varied)
    line = (
        f"{safe_text(result.flag_key)}: {result.samples} synthetic users per context, "
        f"{varied} varied (run {result.prefix})"
    )
    if result.config_changed is not None:
        line += " · the flag changed during the run"
    if result.stopped:
        line += f" · stopped early: {safe_text(result.stopped)}"
    return line


VALUE_HEADER = ("value", "share", "samples")
RULE_HEADER = ("rule", "for this context", "configured", "observed")


def _title(context: ContextCoverage, varied: tuple[str, ...]) -> str:
    """`premium (plan=premium, user_id varied): 200 answered`."""
    attrs = ", ".join(
        f"{safe_text(k)}={safe_text(v)}" for k, v in context.attributes.items() if k not in varied
    )
    attrs = ", ".join(filter(None, [attrs, *(f"{safe_text(k)} varied" for k in varied)]))
    failed = f", {context.failed} failed" if context.failed else ""
    return f"{safe_text(context.name)} ({attrs or 'no attributes'}): {context.answered} answered{failed}"


def coverage_tables(result: CoverageResult) -> list[CoverageTable]:
    tables: list[CoverageTable] = []
    for context in result.contexts:
        values = [(show(v.value, 40), percent(v.share), str(v.count)) for v in context.values]
        by_number = {rule.number: rule for rule in context.rules}
        rules: list[tuple[str, str, str, str]] = []
        for item in context.applicability:
            label = f"rule {item.number}: {item.condition}"
            rule = by_number.get(item.number)
            if rule is None:
                rules.append((label, item.status, "", ""))
                continue
            observed = (
                f"{percent(rule.observed)} of {rule.reached}" if rule.reached else "not reached"
            )
            if rule.ambiguous and rule.reached:
                observed += " (at most)"
            rules.append(
                (
                    f"{label} → {show(rule.return_value, 24)}",
                    item.status,
                    percent(rule.configured),
                    observed,
                )
            )
        notes: list[str] = []
        if context.unexplained:
            notes.append(
                f"{context.unexplained} answers the configuration does not explain (it changed "
                "during the run, or the server matches differently)"
            )
        tables.append(CoverageTable(_title(context, result.varied), values, rules, notes))
    return tables


def no_config_note(result: CoverageResult) -> str | None:
    """What the screen says above the tables when the rules cannot be shown (or say nothing)."""
    if result.flag_enabled is False:
        return OFF_NOTE
    if result.config_known:
        return None
    return (
        "observed shares only: the flag's configuration is not known (a token profile's "
        "monitor reads it)"
    )


def run_warning(result: CoverageResult) -> str | None:
    """Said above everything: the flag changed during the run (then no rule is compared), or
    whether it did could not be told."""
    if result.config_changed is not None:
        return change_words(result.flag_key, result.config_changed)
    if result.recheck_failed is not None:
        return recheck_words(result.recheck_failed)
    return None
