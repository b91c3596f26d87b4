"""Starting a monitor's configuration diffs (core/configs.py), or saying why there are none."""

from __future__ import annotations

from togul_monitor.client.management import FlagReader
from togul_monitor.client.tokens import TokenKeeper
from togul_monitor.config.entry import Profile
from togul_monitor.core.configs import FlagConfigs
from togul_monitor.core.plan import StreamPlan

#: What a profile without a token is told where a diff would be (`tail` at start, the event
#: detail, the inventory); not a standing notice: most profiles have no token, and every screen
#: would carry it.
NEEDS_TOKEN_NOTE = (
    "configuration diffs need a token profile: the management API shows a flag's rules only "
    "with a Bearer token (token_env)"
)

#: Why a token profile without an environment key has no diffs (said where NEEDS_TOKEN_NOTE is).
NEEDS_ENVIRONMENT = "needs an environment key"
NEEDS_ENVIRONMENT_NOTE = (
    "configuration diffs need an environment (--environment, or the profile's environment_key):"
    " the management API lists one environment's flags at a time"
)


def start_configs(
    configs: FlagConfigs,
    profile: Profile,
    plan: StreamPlan,
    tokens: TokenKeeper | None,
    max_flags: int,
    *,
    concurrency: int = 8,
) -> None:
    """Start loading the environment's configurations when the profile can (a token, and the
    lookup found the environment); else leave in `configs.state` why there are none."""
    if tokens is None:
        return  # `configs.state` says so
    if not profile.environment_key:
        configs.state = NEEDS_ENVIRONMENT
        return
    if plan.project_id is None or plan.environment_id is None:
        configs.state = "failed: the environment lookup failed"
        return
    reader = FlagReader(
        profile.base_url,
        plan.project_id,
        lambda: tokens.token,
        renew=tokens.renew,
        concurrency=concurrency,
    )
    configs.configure(
        reader,
        plan.environment_id,
        plan.flag_ids,
        concurrency=concurrency,
        max_flags=max_flags,
        hint=tokens.rejection_hint,
    )
    configs.start()
