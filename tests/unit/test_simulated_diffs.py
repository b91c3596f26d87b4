"""The demo's simulated activity makes every kind of configuration diff (emulator/simulate.py),
so the demo shows each of them."""

from __future__ import annotations

from togul_monitor.domain.flag_config import FlagConfig, diff_configs, parse_flag
from togul_monitor.emulator.harness import make_world
from togul_monitor.emulator.simulate import Simulator
from togul_monitor.emulator.world import World


def configs(world: World) -> dict[tuple[str, str], FlagConfig]:
    return {
        (f.environment_id, f.key): parse_flag(
            {"flag": f.to_api(), "rules": [r.to_api() for r in f.sorted_rules()]}
        )
        for f in world.list_flags()
    }


def kind_of(path: str, kind: str, after: object) -> str:
    field = path.split("].", 1)[1].split(".")[0] if "]." in path else path.split(".")[0]
    if path.startswith("rules[") and "]." not in path:
        return f"rule {kind}"
    if field == "is_active":
        return "activated" if after else "deactivated"
    return field if path != "flag" else f"flag {kind}"


def test_the_simulation_makes_every_kind_of_diff() -> None:
    world = make_world(seed=0, replay=10)
    simulator = Simulator(world, 0)
    seen: set[str] = set()
    before = configs(world)
    for _ in range(250):
        simulator.step()
        after = configs(world)
        for key in before.keys() | after.keys():
            for change in diff_configs(before.get(key), after.get(key)):
                seen.add(kind_of(change.path, change.kind, change.after))
        before = after
    assert seen >= {
        "enabled",
        "default_value",
        "rollout_percentage",
        "activated",
        "deactivated",
        "attribute",
        "operator",
        "value_json",
        "bucket_by",
        "return_value",
        "rule added",
        "rule removed",
        "flag added",
        "flag removed",
    }, seen
