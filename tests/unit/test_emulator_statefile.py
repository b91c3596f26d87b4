"""The `--state` loader refuses every file it cannot serve with a StateError naming the JSON
path, and never raises anything else (docs/state-file.md, errors)."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from togul_monitor.emulator.harness import make_world
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.statefile import StateError, build_world, dump_state, load_world

BASE: dict[str, Any] = {
    "user": {"email": "ada@acme.test", "password": "pw"},
    "organization": {"slug": "acme"},
    "project": {"slug": "shop"},
    "environments": [{"key": "production", "id": "env-p"}, {"key": "staging", "id": "env-s"}],
    "api_keys": [
        {"environment": "production", "scope": "sdk", "secret": "tgl_sdk_one"},
        {"environment": "staging", "scope": "stream", "secret": "tgl_str_two"},
    ],
    "flags": [
        {"environment": "staging", "key": "f", "id": "flag-1", "value_type": "json",
         "default_value": {"a": [1]},
         "rules": [{"id": "rule-1", "rule_type": "boolean", "return_value": None}]},
    ],
}  # fmt: skip


def build(doc: Any) -> None:
    build_world(doc, outbox=Outbox(replay=10))


def refused(doc: Any) -> str:
    with pytest.raises(StateError) as caught:
        build(doc)
    return str(caught.value)


def changed(path: str, value: Any) -> dict[str, Any]:
    """BASE with the field at `path` (dots and indexes: `flags.0.id`) set to `value`."""
    doc = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = doc
    for step in parents:
        node = node[int(step)] if step.isdigit() else node[step]
    node[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("environments.1.id", 7, "environments[1].id: expected a string"),
        ("environments.1.id", ["x"], "environments[1].id: expected a string"),
        ("environments.1.id", "production", "environments[1].id: 'production' is the key of"),
        ("environments.1.id", "env-p", "environments[1].id: duplicate environment id"),
        ("api_keys.0.secret", 12, "api_keys[0].secret: expected a string"),
        ("api_keys.0.secret", "tgl_str_two", "api_keys[1].secret: duplicate secret"),
        ("api_keys.0.secret", "has space", "api_keys[0].secret: expected printable ASCII"),
        ("api_keys.0.id", {"a": 1}, "api_keys[0].id: expected a string"),
        ("org_token", ["t"], "org_token: expected a string"),
        ("flags.0.id", 3.5, "flags[0].id: expected a string"),
        ("flags.0.name", 1, "flags[0].name: expected a non-empty string"),
        ("flags.0.value_type", ["json"], "flags[0].value_type: expected a non-empty string"),
        ("flags.0.salt", 5, "flags[0].salt: expected a string"),
        ("flags.0.rules.0.id", False, "flags[0].rules[0].id: expected a string"),
        ("flags.0.rules.0.rule_id", "r", "flags[0].rules[0].rule_id: unknown rule field"),
        ("flags.0.rules.0.publish", True, "flags[0].rules[0].publish: unknown rule field"),
        ("flags.0.rules.0.attribute", 4, "flags[0].rules[0].attribute: expected a string"),
        ("flags.0.default_value", float("nan"), "flags[0].default_value: numbers must be finite"),
        ("flags.0.key", "\ud800", "flags[0].key: text is not valid Unicode"),
        ("user.password", 1234, "user.password: expected a non-empty string"),
        ("project", [], "project: expected a JSON object"),
    ],
)
def test_a_bad_field_is_refused_with_its_path(path: str, value: Any, message: str) -> None:
    assert message in refused(changed(path, value))


def test_the_base_document_and_a_dumped_world_load() -> None:
    build(BASE)
    build(json.loads(json.dumps(dump_state(make_world(seed=4)))))


def test_deep_nesting_is_refused_in_the_file_and_in_a_value(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    for depth in (994, 5000):
        path.write_bytes(b"[" * depth + b"]" * depth)
        with pytest.raises(StateError, match="nested more than"):
            load_world(path, outbox=Outbox())
    value: Any = 1
    for _ in range(100):
        value = {"v": value}
    assert "flags[0].default_value.v.v" in refused(changed("flags.0.default_value", value))
    rule = {"rule_type": "attribute", "attribute": "a", "operator": "eq",
            "value_json": "[" * 5000, "return_value": None}  # fmt: skip
    assert "flags[0].rules[0].value_json" in refused(changed("flags.0.rules.0", rule))


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(BASE).encode()[:-2] + b', "x": "\xe9"}')
    with pytest.raises(StateError, match="not UTF-8 text"):
        load_world(path, outbox=Outbox())
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE).encode())  # a BOM is fine
    load_world(path, outbox=Outbox())


def test_every_environment_stays_reachable_by_its_id() -> None:
    world = make_world(seed=0)
    doc = dump_state(world)
    doc["environments"][1]["id"] = doc["environments"][1]["key"]  # its own key: harmless
    loaded = build_world(doc, outbox=Outbox())
    for env in loaded.environments.values():
        assert loaded.environment_of(env.id) is env


_TEXT = st.text(max_size=5) | st.sampled_from(["\ud800", "env-p", "production", "tgl_sdk_one"])
_LEAF = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | _TEXT
_VALUE = st.recursive(
    _LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
_PLACES = ("environments.0.id", "environments.1.key", "environments.1", "api_keys.0",
           "api_keys.0.secret", "api_keys.1.scope", "api_keys.1.environment", "org_token",
           "flags.0", "flags.0.id", "flags.0.key", "flags.0.enabled", "flags.0.value_type",
           "flags.0.default_value", "flags.0.version", "flags.0.rules", "flags.0.rules.0",
           "flags.0.rules.0.priority", "flags.0.rules.0.rule_type", "flags.0.rules.0.operator",
           "user", "user.email", "organization.id", "project.description")  # fmt: skip


def _settings(examples: int) -> Any:
    return settings(
        derandomize=True,
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@_settings(150)
@given(changes=st.lists(st.tuples(st.sampled_from(_PLACES), _VALUE), min_size=1, max_size=3))
def test_generated_documents_load_or_are_refused_cleanly(changes: list[tuple[str, Any]]) -> None:
    doc: Any = copy.deepcopy(BASE)
    for path, value in changes:
        try:
            *parents, last = path.split(".")
            node = doc
            for step in parents:
                node = node[int(step)] if isinstance(node, list) else node[step]
            node[int(last) if isinstance(node, list) else last] = value
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # an earlier change replaced the container
    try:
        build(doc)
    except StateError:
        pass


@_settings(100)
@given(raw=st.binary(max_size=64) | st.sampled_from([b"[" * 3000, b'{"environments": [{"key"']))
def test_generated_bytes_load_or_are_refused_cleanly(raw: bytes) -> None:
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(raw)
        file.flush()
        try:
            load_world(file.name, outbox=Outbox())
        except StateError:
            pass
