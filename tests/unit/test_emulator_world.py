"""The seeded world, world mutations, the state file format and the simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from togul_monitor.emulator.errors import ApiError
from togul_monitor.emulator.harness import make_world
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.rules import OPERATORS
from togul_monitor.emulator.seed import seed_state
from togul_monitor.emulator.simulate import Simulator
from togul_monitor.emulator.statefile import StateError, build_world, dump_state, load_world
from togul_monitor.emulator.world import World
from togul_monitor.protocol import EVENT_TYPES, KEY_PREFIXES, VALUE_TYPES


def ring(world: World) -> list[dict[str, Any]]:
    """The world's published events, decoded from the outbox ring."""
    events = []
    for event in world.outbox.recorded():
        events.append(json.loads(event.frame_bare.decode().removeprefix("data: ")))
    return events


def test_seed_is_deterministic() -> None:
    assert seed_state(0) == seed_state(0)
    assert seed_state(0) != seed_state(1)
    a, b = make_world(seed=3), make_world(seed=3)
    assert a.credentials == b.credentials
    assert [f.id for f in a.list_flags()] == [f.id for f in b.list_flags()]


def test_seeded_world_content() -> None:
    world = make_world(seed=0)
    creds = world.credentials
    assert set(creds.keys) == {"production", "staging"}
    for env, scopes in creds.keys.items():
        assert set(scopes) == {"server", "sdk", "stream"}
        for scope, secret in scopes.items():
            assert secret.startswith(KEY_PREFIXES[scope])
        flags = world.list_flags(env)
        assert len(flags) >= 20
        assert {f.value_type for f in flags} == set(VALUE_TYPES)
        rules = [r for f in flags for r in f.rules]
        assert {r.rule_type for r in rules} == {"boolean", "attribute", "percentage"}
        assert {r.operator for r in rules if r.operator} == set(OPERATORS)
        assert any(not r.is_active for r in rules)
        assert any(not f.enabled for f in flags) or env == "staging"
        assert world.get_flag(env, "new-dashboard").value_type == "boolean"
        checkout = world.get_flag(env, "checkout-v2")
        assert checkout.value_type == "boolean"
        assert any(r.rule_type == "percentage" for r in checkout.rules)
    assert creds.org_token.count(".") == 2  # a JWT


def test_mutations_bump_the_flag_version_and_publish_one_event_each() -> None:
    world = make_world()
    world.update_flag("production", "new-dashboard", enabled=False)
    rule = world.create_rule("production", "new-dashboard", rule_type="boolean", return_value=True)
    world.update_rule("production", "new-dashboard", rule.id, priority=7)
    world.delete_rule("production", "new-dashboard", rule.id)
    world.update_flag("staging", "new-dashboard", default_value=True)
    world.delete_flag("production", "new-dashboard")
    events = ring(world)
    assert [(e["type"], e["version"]) for e in events] == [
        ("flag.updated", 2),
        ("rule.created", 3),
        ("rule.updated", 4),
        ("rule.deleted", 5),
        ("flag.updated", 2),
        ("flag.deleted", 6),
    ]
    assert world.outbox.events_published == 6
    with pytest.raises(ApiError) as missing:
        world.update_flag("production", "new-dashboard", enabled=True)
    assert missing.value.status == 404


def test_refused_mutations_change_nothing_and_publish_nothing() -> None:
    world = make_world()
    before = world.get_flag("production", "api-rate-limit")
    with pytest.raises(ApiError):
        world.update_flag("production", "api-rate-limit", default_value="lots")
    with pytest.raises(ApiError):
        world.update_rule("production", "api-rate-limit", 0, operator="like")
    with pytest.raises(ApiError) as dup:
        world.create_flag("production", "api-rate-limit")
    assert dup.value.status == 409
    assert world.get_flag("production", "api-rate-limit") == before
    assert world.outbox.events_published == 0


def test_any_non_empty_key_is_accepted_verbatim() -> None:
    world = make_world()
    for key in ("[bold red]boom[/]", "tab\there", "\x1b[31mred"):
        assert world.create_flag("staging", key).key == key
        assert world.evaluate("staging", key)["flag_key"] == key


def test_state_round_trip(tmp_path: Path) -> None:
    world = make_world(seed=5)
    world.create_flag("staging", "extra", value_type="json", default_value={"a": [1]})
    path = tmp_path / "state.json"
    path.write_text(json.dumps(dump_state(world)), encoding="utf-8")
    loaded = load_world(path, outbox=Outbox())
    assert loaded.credentials == world.credentials
    assert dump_state(loaded) == dump_state(world)
    for flag in world.list_flags():
        for ctx in ({}, {"user_id": "u1", "plan": "premium", "country": "TR"}):
            env = flag.environment_id
            assert loaded.evaluate(env, flag.key, ctx) == world.evaluate(env, flag.key, ctx)


def test_minimal_state_file_fills_in_the_rest(tmp_path: Path) -> None:
    state = {
        "environments": [{"key": "dev"}],
        "api_keys": [{"environment": "dev", "scope": "sdk"}],
        "flags": [
            {
                "environment": "dev",
                "key": "f",
                "rules": [
                    {"rule_type": "percentage", "rollout_percentage": 100, "return_value": True}
                ],
            }
        ],
    }
    world = build_world(state, outbox=Outbox(), seed=1)
    assert world.credentials.keys["dev"]["sdk"].startswith("tgl_sdk_")
    assert world.evaluate("dev", "f", {"user_id": "u"})["value"] is True
    assert build_world(state, outbox=Outbox(), seed=1).credentials == world.credentials


@pytest.mark.parametrize(
    ("state", "where"),
    [
        ({"environments": []}, "state.environments"),
        ({"environments": [{"key": "a"}, {"key": "a"}]}, "environments[1].key"),
        (
            {"environments": [{"key": "a"}], "api_keys": [{"environment": "b", "scope": "sdk"}]},
            "api_keys[0].environment",
        ),
        (
            {"environments": [{"key": "a"}], "api_keys": [{"environment": "a", "scope": "admin"}]},
            "api_keys[0].scope",
        ),
        (
            {
                "environments": [{"key": "a"}],
                "flags": [{"environment": "a", "key": "f", "value_type": "date"}],
            },
            "flags[0]",
        ),
        (
            {
                "environments": [{"key": "a"}],
                "flags": [
                    {
                        "environment": "a",
                        "key": "f",
                        "rules": [
                            {
                                "rule_type": "attribute",
                                "attribute": "x",
                                "operator": "eq",
                                "value_json": "[",
                                "return_value": True,
                            }
                        ],
                    }
                ],
            },
            "flags[0]",
        ),
        ([], "state"),
    ],
)
def test_bad_state_names_the_place(state: Any, where: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(StateError) as error:
        load_world(path, outbox=Outbox())
    assert str(error.value).startswith(f"{path}: {where}")


def test_unparsable_state_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "environments": [,]\n}', encoding="utf-8")
    with pytest.raises(StateError, match="line 2"):
        load_world(path, outbox=Outbox())


def run_simulation(seed: int, steps: int) -> list[tuple[str, str, str, int]]:
    world = make_world(seed=seed, replay=steps + 10)
    simulator = Simulator(world, seed)
    for _ in range(steps):
        simulator.step()
    return [(e["type"], e["flag_key"], e["environment_id"], e["version"]) for e in ring(world)]


def test_simulation_is_deterministic_and_covers_every_event_type() -> None:
    first = run_simulation(0, 400)
    assert first == run_simulation(0, 400)
    assert first != run_simulation(1, 400)
    assert len(first) == 400  # one event per step
    assert {event[0] for event in first} == set(EVENT_TYPES)
    assert len({event[2] for event in first}) == 2  # both environments


def test_simulation_keeps_the_world_bounded() -> None:
    world = make_world(seed=2, replay=10)
    simulator = Simulator(world, 2)
    for _ in range(1000):
        simulator.step()
    flags = world.list_flags()
    assert all(len(f.rules) <= 4 for f in flags)
    assert sum(f.key.startswith("sim-experiment-") for f in flags) <= 3
    assert {"new-dashboard", "checkout-v2"} <= {f.key for f in world.list_flags("production")}


def test_the_documented_example_state_file_loads(tmp_path: Path) -> None:
    import re

    doc = Path(__file__).resolve().parents[2] / "docs" / "state-file.md"
    example = re.search(r"```json\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert example is not None
    path = tmp_path / "world.json"
    path.write_text(example.group(1), encoding="utf-8")
    world = load_world(path, outbox=Outbox())
    assert world.credentials.keys["production"]["sdk"] == "tgl_sdk_local_production_0001"
    result = world.evaluate("staging", "pricing-config", {"country": "DE"})
    assert result["value"] == {"currency": "EUR", "trial_days": 30}


def test_the_readme_example_state_file_loads(tmp_path: Path) -> None:
    import re

    readme = Path(__file__).resolve().parents[2] / "README.md"
    example = re.search(r"```json\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    assert example is not None
    path = tmp_path / "world.json"
    path.write_text(example.group(1), encoding="utf-8")
    world = load_world(path, outbox=Outbox())
    assert world.credentials.keys["production"]["sdk"] == "tgl_sdk_local_production_0001"
    assert world.credentials.keys["staging"]["stream"].startswith("tgl_str_")
    result = world.evaluate("staging", "pricing-config", {})
    assert result["value"] == {"currency": "USD"}


def test_a_seeds_refresh_token_is_the_same_whenever_the_run_starts() -> None:
    """The org token is signed anew with each run's time (its `iat`), and a seeded `serve`
    printed another refresh token when two runs fell in different seconds."""
    early = make_world(seed=5, token_ttl=3600.0, clock=lambda: 1_700_000_000.0).credentials
    later = make_world(seed=5, token_ttl=3600.0, clock=lambda: 1_700_000_007.0).credentials
    assert early.org_token != later.org_token
    assert early.org_refresh_token == later.org_refresh_token
