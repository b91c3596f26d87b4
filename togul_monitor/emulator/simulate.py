"""Simulated activity: a stream of realistic changes (toggles, default changes, rule add /
update / delete, rollout steps, short-lived experiment flags) across every environment. Rule
updates are of every kind (activate or deactivate, return value, condition: attribute, operator
and operand, bucket by), so the demo shows every kind of configuration diff.

`Simulator.step()` is deterministic for a given seed and world: it looks only at the world's
state (in sorted order) and its own random generator, never at the clock.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

from togul_monitor.emulator.errors import ApiError
from togul_monitor.emulator.model import Flag, Rule
from togul_monitor.emulator.world import World

_STRING_PALETTES: dict[str, list[str]] = {
    "checkout-button-color": ["blue", "green", "orange", "purple"],
    "search-algorithm": ["bm25", "hybrid", "vector"],
    "welcome-message": ["Welcome!", "Hello there!", "Good to see you!"],
    "support-tier": ["standard", "priority", "premium"],
    "recommendation-model": ["v1", "v2", "v3-canary"],
}
_ATTRIBUTES: list[tuple[str, str, Any]] = [
    ("country", "eq", "TR"),
    ("country", "in", ["DE", "FR", "NL"]),
    ("plan", "eq", "enterprise"),
    ("plan", "neq", "free"),
    ("email", "ends_with", "@acme.test"),
    ("user_id", "starts_with", "beta-"),
    ("platform", "not_in", ["ios", "android"]),
    ("email", "contains", "+qa"),
]
_BUCKETS = ("user_id", "account_id", "org_id")
_MAX_RULES = 4
_MAX_EXPERIMENTS = 3


class Simulator:
    def __init__(self, world: World, seed: int | str = 0) -> None:
        self.world = world
        self.rng = random.Random(f"{seed}:simulate")
        self._experiments = 0

    # -- values --------------------------------------------------------------------------------
    def _value(self, flag: Flag, avoid: Any = None) -> Any:
        rng = self.rng
        if flag.value_type == "boolean":
            return not avoid if isinstance(avoid, bool) else rng.random() < 0.5
        if flag.value_type == "string":
            palette = _STRING_PALETTES.get(flag.key, ["control", "treatment-a", "treatment-b"])
            choices = [v for v in palette if v != avoid] or palette
            return rng.choice(choices)
        if flag.value_type == "number":
            base = avoid if isinstance(avoid, (int, float)) and avoid else 10
            return max(1, round(base * rng.choice([0.5, 0.8, 1.25, 2])))
        return {"variant": rng.choice(["A", "B", "C"]), "weight": rng.choice([0.1, 0.25, 0.5])}

    def _rule_fields(self, flag: Flag) -> dict[str, Any]:
        if self.rng.random() < 0.4:
            return {
                "rule_type": "percentage",
                "rollout_percentage": self.rng.choice([5, 10, 25, 50]),
                "return_value": self._value(flag, flag.default_value),
            }
        attribute, operator, operand = self.rng.choice(_ATTRIBUTES)
        return {
            "rule_type": "attribute",
            "attribute": attribute,
            "operator": operator,
            "value_json": json.dumps(operand),
            "return_value": self._value(flag, flag.default_value),
        }

    def _rule_change(self, flag: Flag, rule: Rule) -> dict[str, Any]:
        """One edit of a rule, of every kind a person makes: (de)activate it, change what it
        returns, its condition (attribute, operator and operand) or what it buckets by."""
        kinds = ["is_active", "return_value"]
        if rule.rule_type == "attribute":
            kinds.append("condition")
        if rule.rule_type == "percentage":
            kinds.append("bucket_by")
        kind = self.rng.choice(kinds)
        if kind == "is_active":
            return {"is_active": not rule.is_active}
        if kind == "condition":
            current = (rule.attribute, rule.operator, rule.value_json)
            options = [a for a in _ATTRIBUTES if (a[0], a[1], json.dumps(a[2])) != current]
            attribute, operator, operand = self.rng.choice(options)
            return {"attribute": attribute, "operator": operator, "value_json": json.dumps(operand)}
        if kind == "bucket_by":
            return {"bucket_by": self.rng.choice([b for b in _BUCKETS if b != rule.bucket_by])}
        return {"return_value": self._value(flag, rule.return_value)}

    # -- one change ----------------------------------------------------------------------------
    def step(self) -> str:
        """Make one change; return what it was (for logs)."""
        flags = self.world.list_flags()
        if not flags:
            return self._create_experiment()
        roll = self.rng.random()
        flag = self.rng.choice(flags)
        env = flag.environment_id
        if roll < 0.25:
            self.world.update_flag(env, flag.key, enabled=not flag.enabled)
            return f"toggle {flag.key}"
        if roll < 0.45:
            self.world.update_flag(
                env, flag.key, default_value=self._value(flag, flag.default_value)
            )
            return f"default {flag.key}"
        if roll < 0.65:
            pct = [f for f in flags if any(r.rule_type == "percentage" for r in f.rules)]
            if pct:
                flag = self.rng.choice(pct)
                index, rule = next(
                    (i, r) for i, r in enumerate(flag.sorted_rules()) if r.rule_type == "percentage"
                )
                current = rule.rollout_percentage or 0
                nxt = current + self.rng.choice([5, 10, 20]) if current < 100 else 5
                self.world.update_rule(
                    flag.environment_id, flag.key, rule.id, rollout_percentage=min(100, nxt)
                )
                return f"rollout {flag.key} {min(100, nxt)}%"
        if roll < 0.77 and len(flag.rules) < _MAX_RULES:
            self.world.create_rule(env, flag.key, **self._rule_fields(flag))
            return f"rule+ {flag.key}"
        if roll < 0.85 and flag.rules:
            rule = self.rng.choice(flag.sorted_rules())
            change = self._rule_change(flag, rule)
            self.world.update_rule(env, flag.key, rule.id, **change)
            return f"rule~ {flag.key} {','.join(sorted(change))}"
        if roll < 0.93 and len(flag.rules) > 1:
            self.world.delete_rule(env, flag.key, flag.sorted_rules()[-1].id)
            return f"rule- {flag.key}"
        experiments = [f for f in flags if f.key.startswith("sim-experiment-")]
        if len(experiments) >= _MAX_EXPERIMENTS or (experiments and self.rng.random() < 0.5):
            victim = self.rng.choice(experiments)
            self.world.delete_flag(victim.environment_id, victim.key)
            return f"delete {victim.key}"
        return self._create_experiment()

    def _create_experiment(self) -> str:
        self._experiments += 1
        envs = sorted(self.world.environments)
        env = self.rng.choice(envs)
        key = f"sim-experiment-{self._experiments}"
        try:
            self.world.create_flag(
                env,
                key,
                name=f"Simulated experiment {self._experiments}",
                value_type="json",
                default_value={"variant": "A"},
                enabled=True,
            )
        except ApiError:  # a state file may already use that key
            self.world.update_flag(env, key, enabled=True)
        return f"create {key}"


class SimulatorThread:
    """Run `Simulator.step()` at `rate` changes per second in a daemon thread."""

    def __init__(self, simulator: Simulator, rate: float) -> None:
        self.simulator = simulator
        self.rate = rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="togul-simulator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.simulator.step()
            next_at += interval
            # Catch up after a pause instead of bursting: never schedule into the past.
            next_at = max(next_at, time.monotonic() - interval)
            self._stop.wait(max(0.0, next_at - time.monotonic()))
