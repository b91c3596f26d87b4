"""The seeded world: one organization and project, `production` and `staging`, about twenty
realistic flags per environment across the four value types, with rules of every kind.

`seed_state(seed)` returns a state document (the `--state` format) with every id, salt and
secret fixed by the seed, so tests and snapshots see stable keys and ids.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from togul_monitor.emulator.statefile import IdGenerator


def _attr(attribute: str, operator: str, operand: Any, value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "rule_type": "attribute",
        "attribute": attribute,
        "operator": operator,
        "value_json": json.dumps(operand),
        "return_value": value,
        **extra,
    }


def _pct(percentage: int, value: Any, bucket_by: str = "user_id") -> dict[str, Any]:
    return {
        "rule_type": "percentage",
        "rollout_percentage": percentage,
        "bucket_by": bucket_by,
        "return_value": value,
    }


def _bool_rule(value: Any, **extra: Any) -> dict[str, Any]:
    return {"rule_type": "boolean", "return_value": value, **extra}


_FlagSpec = tuple[str, str, str, Any, bool, list[dict[str, Any]]]


def _flag(
    key: str, name: str, value_type: str, default: Any, *rules: dict[str, Any], enabled: bool = True
) -> _FlagSpec:
    """One seeded flag; its rules get priorities in the order given."""
    return (key, name, value_type, default, enabled, list(rules))


PREMIUM = ["premium", "enterprise"]

_FLAGS: list[_FlagSpec] = [
    # boolean
    _flag("new-dashboard", "New dashboard", "boolean", False, _attr("plan", "in", PREMIUM, True)),
    _flag("checkout-v2", "Checkout v2", "boolean", False,
          _attr("email", "ends_with", "@acme.test", True), _pct(25, True)),
    _flag("dark-mode", "Dark mode", "boolean", True, _attr("platform", "eq", "legacy-ie", False)),
    _flag("maintenance-banner", "Maintenance banner", "boolean", False, enabled=False),
    _flag("beta-search", "Beta search", "boolean", False,
          _attr("user_id", "starts_with", "beta-", True)),
    _flag("legacy-export", "Legacy CSV export", "boolean", True, _bool_rule(False)),
    _flag("fraud-check-strict", "Strict fraud checks", "boolean", False,
          _attr("country", "not_in", ["TR", "DE", "US", "GB"], True)),
    _flag("new-onboarding", "New onboarding flow", "boolean", False, _pct(50, True)),
    _flag("invoice-pdf-v3", "Invoice PDF v3", "boolean", False,
          _attr("email", "contains", "+qa", True)),
    _flag("realtime-notifications", "Realtime notifications", "boolean", False,
          _pct(10, True, bucket_by="account_id")),
    # string
    _flag("checkout-button-color", "Checkout button colour", "string", "blue",
          _pct(50, "green")),
    _flag("search-algorithm", "Search algorithm", "string", "bm25",
          _attr("plan", "eq", "enterprise", "hybrid")),
    _flag("welcome-message", "Welcome message", "string", "Welcome!",
          _attr("country", "eq", "TR", "Hoş geldiniz!"),
          _attr("country", "eq", "DE", "Willkommen!")),
    _flag("support-tier", "Support tier", "string", "standard",
          _attr("plan", "in", PREMIUM, "priority")),
    _flag("recommendation-model", "Recommendation model", "string", "v1", _pct(20, "v2")),
    # number
    _flag("api-rate-limit", "API rate limit (req/min)", "number", 100,
          _attr("plan", "eq", "enterprise", 5000), _attr("plan", "eq", "premium", 1000)),
    _flag("cache-ttl-seconds", "Cache TTL (s)", "number", 30, _bool_rule(5, is_active=False)),
    _flag("max-upload-mb", "Max upload size (MB)", "number", 25,
          _attr("plan", "neq", "free", 100)),
    _flag("retry-backoff-ms", "Retry backoff (ms)", "number", 250.5, _pct(30, 125.25)),
    # json
    _flag("pricing-config", "Pricing config", "json", {"currency": "USD", "trial_days": 14},
          _attr("country", "eq", "TR", {"currency": "TRY", "trial_days": 30})),
    _flag("feature-limits", "Feature limits", "json", {"projects": 3, "seats": 5},
          _attr("plan", "eq", "enterprise", {"projects": None, "seats": 500})),
    _flag("homepage-layout", "Homepage layout", "json", ["hero", "features", "pricing"],
          _pct(50, ["hero", "testimonials", "pricing"])),
    _flag("experiment-config", "Experiment config", "json", None,
          _attr("email", "ends_with", "@acme.test", {"variant": "B", "weight": 0.5})),
]  # fmt: skip

ENVIRONMENTS: tuple[tuple[str, str], ...] = (("production", "Production"), ("staging", "Staging"))


def _staging(key: str, enabled: bool, rules: list[dict[str, Any]]) -> tuple[bool, list[Any]]:
    """Staging runs ahead of production: wider rollouts, the banner on."""
    rules = [dict(r) for r in rules]
    for rule in rules:
        if rule["rule_type"] == "percentage":
            rule["rollout_percentage"] = min(100, rule["rollout_percentage"] * 2 + 10)
    if key == "maintenance-banner":
        enabled = True
    return enabled, rules


def seed_state(seed: int | str = 0) -> dict[str, Any]:
    """The seeded world as a state document; identical for identical seeds."""
    gen = IdGenerator(f"seed:{seed}")
    rng = random.Random(seed)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    org_id, user_id = uid(), uid()
    state: dict[str, Any] = {
        "organization": {"id": org_id, "slug": "acme", "name": "Acme Corp"},
        "user": {
            "id": user_id,
            "name": "Ada Admin",
            "email": "admin@acme.test",
            "password": "togul-emulator",
        },
        "org_token": gen.org_token(user_id, org_id),
        "project": {"id": uid(), "slug": "storefront", "name": "Storefront", "description": None},
        "environments": [],
        "flags": [],
        "api_keys": [],
    }
    for env_key, env_name in ENVIRONMENTS:
        state["environments"].append({"id": uid(), "key": env_key, "name": env_name})
        for scope in ("server", "sdk", "stream"):
            state["api_keys"].append(
                {
                    "id": uid(),
                    "name": f"{env_name} {scope} key",
                    "environment": env_key,
                    "scope": scope,
                    "secret": gen.secret(scope),
                }
            )
        for key, name, value_type, default, enabled, rules in _FLAGS:
            if env_key == "staging":
                enabled, rules = _staging(key, enabled, rules)
            state["flags"].append(
                {
                    "id": uid(),
                    "environment": env_key,
                    "key": key,
                    "name": name,
                    "description": None,
                    "enabled": enabled,
                    "value_type": value_type,
                    "default_value": default,
                    "salt": f"{rng.getrandbits(32):08x}",
                    "version": 1,
                    "rules": [{"id": uid(), "priority": i, **rule} for i, rule in enumerate(rules)],
                }
            )
    return state
