"""A coverage result in words (`rule 2: 50 % configured, 48.5 % observed for premium (200
samples)`) and as JSON (`coverage --json`). Server text is made safe (`safe_text`); the JSON
keeps values as they came."""

from __future__ import annotations

from typing import Any

from togul_monitor.domain.coverage import (
    ContextCoverage,
    CoverageResult,
    RuleCoverage,
)
from togul_monitor.domain.coverage_change import change_to_json, change_words
from togul_monitor.domain.flag_config import show
from togul_monitor.support.text import safe_text

#: Said when the configuration read has the flag switched off.
OFF_NOTE = "the flag is off: every sample gets its default value (reason disabled)"

# --- words ----------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    """`48.5 %`, `50 %` (a whole number without decimals), `–` for none."""
    if value is None:
        return "–"
    text = f"{value:.1f}"
    return f"{text[:-2] if text.endswith('.0') else text} %"


def rule_line(rule: RuleCoverage, context: str) -> str:
    """`rule 2: 50 % configured, 48.5 % observed for premium (200 samples)`."""
    where = safe_text(context)
    head = f"rule {rule.number}: {percent(rule.configured)} configured"
    if not rule.reached:
        return f"{head}, not reached for {where} (0 of {rule.answered} samples)"
    line = f"{head}, {percent(rule.observed)} observed for {where} ({rule.reached} samples)"
    if rule.ambiguous:
        line += " (at most: a later rule returns the same value)"
    return line


def values_line(context: ContextCoverage) -> str:
    """`premium: true 48.5 %, false 51.5 % (200 samples)`."""
    parts = [f"{show(v.value, 40)} {percent(v.share)}" for v in context.values] or ["no answer"]
    extra = f", {context.failed} failed" if context.failed else ""
    return f"{safe_text(context.name)}: {', '.join(parts)} ({context.answered} samples{extra})"


def recheck_words(why: str) -> str:
    """Said when the configuration could not be read again after the run."""
    return (
        f"the flag's configuration was not read again after the run ({safe_text(why)}): "
        "a change during the run would not show"
    )


def result_lines(result: CoverageResult) -> list[str]:
    """Every line of a result, as the CLI prints it: a change of the configuration during the
    run first (the result then holds no rule figures to print)."""
    lines: list[str] = []
    if result.config_changed is not None:
        lines.append(change_words(result.flag_key, result.config_changed))
    for context in result.contexts:
        lines.append(values_line(context))
        lines.extend("  " + rule_line(rule, context.name) for rule in context.rules)
        for item in context.applicability:
            if item.rule_type != "percentage" and item.status == "matches":
                lines.append(f"  rule {item.number} ({item.condition}) catches this context first")
                break
        if context.unexplained:
            lines.append(
                f"  {context.unexplained} answers the configuration does not explain "
                "(it changed during the run, or the server matches differently)"
            )
    if result.flag_enabled is False:
        lines.append(OFF_NOTE)
    if not result.config_known:
        lines.append("observed shares only: the flag's configuration was not read")
    if result.recheck_failed is not None:
        lines.append(recheck_words(result.recheck_failed))
    if result.stopped:
        lines.append(f"stopped early: {safe_text(result.stopped)}")
    return lines


def result_to_json(result: CoverageResult) -> dict[str, Any]:
    """One object: the run, then per context its values and percentage rules."""
    return {
        "flag_key": result.flag_key,
        "run": result.prefix,
        "samples_per_context": result.samples,
        "varied_attributes": list(result.varied),
        "config_known": result.config_known,
        "flag_enabled": result.flag_enabled,
        "stopped": result.stopped,
        "stop_kind": result.stop_kind,
        "config_changed": (
            change_to_json(result.config_changed) if result.config_changed is not None else None
        ),
        "recheck_failed": result.recheck_failed,
        "contexts": [_context_json(c, result.config_changed is not None) for c in result.contexts],
    }


def _context_json(context: ContextCoverage, changed: bool) -> dict[str, Any]:
    return {
        "name": context.name,
        "attributes": context.attributes,
        "requested": context.requested,
        "answered": context.answered,
        "failed": context.failed,
        # Null when the configuration changed: no configuration held to explain the answers.
        "unexplained": None if changed else context.unexplained,
        "reasons": context.reasons,
        "values": [
            {"value": v.value, "count": v.count, "share": round(v.share, 2)} for v in context.values
        ],
        "rules": [_rule_json(r) for r in context.rules],
        "applicability": [
            {
                "rule": a.number,
                "rule_type": a.rule_type,
                "condition": a.condition,
                "status": a.status,
                "rollout_percentage": a.rollout_percentage,
            }
            for a in context.applicability
        ],
    }


def _rule_json(rule: RuleCoverage) -> dict[str, Any]:
    observed, of_all = rule.observed, rule.share_of_all
    return {
        "rule": rule.number,
        "rule_id": rule.rule_id,
        "bucket_by": rule.bucket_by,
        "return_value": rule.return_value,
        "configured": rule.configured,
        "reached": rule.reached,
        "took": rule.took,
        "observed": round(observed, 2) if observed is not None else None,
        "share_of_all": round(of_all, 2) if of_all is not None else None,
        "ambiguous": rule.ambiguous,
    }
