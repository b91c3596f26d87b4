"""Whether a flag's configuration changed while coverage sampled it, and what a result may still
say when it did.

The sampler attributes every answer to a rule of the configuration read before the run
(coverage.py). A run takes seconds (at most 50 requests a second), so the flag may be edited
meanwhile: the answers before the edit follow one configuration, the answers after it another,
and neither configuration's percentage held for the whole run. Compared against either, a
rollout moved from 90 % to 10 % mid-run reads like a broken bucketing hash. So the configuration
is read again after the last answer (core/coverage.py) and compared with the first read here:
any difference (its version, its `updated_at`, or its content when the server gives neither)
means the run saw both. Such a result keeps only what holds whatever the configuration: the
share of each value among the answers. Rule by rule figures (reached, took, unexplained) and the
switch are dropped, never compared.

Pure: no I/O.
"""

from __future__ import annotations

import msgspec

from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.support.text import safe_text


class ConfigChange(msgspec.Struct, frozen=True):
    """The configuration read after the run differs from the one read before it."""

    version_before: int | None
    version_after: int | None  # None also when `deleted`
    updated_at_before: str | None
    updated_at_after: str | None
    deleted: bool = False  # the environment no longer lists the flag


def config_change(before: FlagConfig, after: FlagConfig | None) -> ConfigChange | None:
    """What changed between the read before the run and the read after it; None when nothing
    did. A version bumped and changed back to the same content is a change too (the samples in
    between saw the other one)."""
    if after is None:
        return ConfigChange(before.version, None, before.updated_at, None, deleted=True)
    if after == before:  # every field, the version and updated_at included
        return None
    return ConfigChange(before.version, after.version, before.updated_at, after.updated_at)


def change_words(flag_key: str, change: ConfigChange) -> str:
    """`checkout-v2 changed during the run (version 7 → 8): the samples mix both
    configurations; run it again`."""
    key = safe_text(flag_key)
    if change.deleted:
        return (
            f"{key} was deleted during the run: the samples do not measure one configuration;"
            " run it again"
        )
    before, after = change.version_before, change.version_after
    if before is not None and after is not None and before != after:
        how = f"version {before} → {after}"
    elif change.updated_at_before != change.updated_at_after:
        was, now = change.updated_at_before or "?", change.updated_at_after or "?"
        how = f"updated {safe_text(was)} → {safe_text(now)}"
    else:
        how = "its rules or settings differ"
    return (
        f"{key} changed during the run ({how}): the samples mix both configurations; run it again"
    )


def change_to_json(change: ConfigChange) -> dict[str, object]:
    return {
        "version_before": change.version_before,
        "version_after": change.version_after,
        "updated_at_before": change.updated_at_before,
        "updated_at_after": change.updated_at_after,
        "deleted": change.deleted,
    }
