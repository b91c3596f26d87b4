"""The management API (Bearer token) over loopback: shapes, validation, and that every
mutation yields exactly one matching event on exactly the entitled streams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from togul_monitor.emulator.harness import EmulatorHandle

from .emulator_sse import RawStream


@pytest.fixture
def api(emulator: EmulatorHandle) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.credentials.org_token}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=5) as client:
        yield client


def project_path(emu: EmulatorHandle, rest: str = "") -> str:
    return f"/api/v1/projects/{emu.credentials.project_id}{rest}"


def flag_id(emu: EmulatorHandle, env: str, key: str) -> str:
    return emu.world.get_flag(env, key).id


def test_health_probes(emulator: EmulatorHandle) -> None:
    for path in ("/healthz", "/readyz"):
        response = httpx.get(emulator.base_url + path, timeout=5)
        assert response.status_code == 200
        assert response.json()["status"] in ("ok", "ready")


def test_login_refresh_and_rotation(emulator: EmulatorHandle) -> None:
    creds = emulator.credentials
    with httpx.Client(base_url=emulator.base_url, timeout=5) as client:
        bad = client.post("/api/v1/login", json={"username": creds.username, "password": "x"})
        assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"
        session = client.post(
            "/api/v1/login", json={"username": creds.username, "password": creds.password}
        ).json()
        assert set(session) == {
            "token",
            "refresh_token",
            "user",
            "current_organization",
            "organizations",
        }
        assert session["user"]["email"] == creds.username
        assert session["current_organization"]["slug"] == "acme"
        auth = {"Authorization": f"Bearer {session['token']}"}
        assert client.get("/api/v1/projects", headers=auth).status_code == 200
        renewed = client.post(
            "/api/v1/refresh-token", json={"refresh_token": session["refresh_token"]}
        )
        assert renewed.status_code == 200
        assert renewed.json()["refresh_token"] != session["refresh_token"]
        again = client.post(
            "/api/v1/refresh-token", json={"refresh_token": session["refresh_token"]}
        )
        assert again.status_code == 401  # rotated: the old refresh token is dead
        missing = client.post("/api/v1/refresh-token", json={})
        assert missing.status_code == 400
        assert missing.json()["code"] == "validation.refresh_token"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"X-API-Key": "sdk"}],
)
def test_management_needs_a_bearer_token(emulator: EmulatorHandle, headers: dict[str, str]) -> None:
    if headers.get("X-API-Key") == "sdk":
        headers = {"X-API-Key": emulator.credentials.keys["production"]["sdk"]}
    for path in ("/api/v1/projects", project_path(emulator, "/flags")):
        response = httpx.get(emulator.base_url + path, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


def test_projects_environments_and_flag_listing(
    emulator: EmulatorHandle, api: httpx.Client
) -> None:
    projects = api.get("/api/v1/projects").json()["projects"]
    assert [p["id"] for p in projects] == [emulator.credentials.project_id]
    envs = api.get(project_path(emulator, "/environments")).json()["environments"]
    assert {e["key"]: e["id"] for e in envs} == emulator.credentials.environment_ids
    flags = api.get(project_path(emulator, "/flags")).json()["flags"]
    assert {f["environment_id"] for f in flags} == set(
        emulator.credentials.environment_ids.values()
    )
    assert len(flags) >= 40
    assert {f["value_type"] for f in flags} == {"boolean", "string", "number", "json"}
    staging = emulator.credentials.environment_ids["staging"]
    only = api.get(project_path(emulator, "/flags"), params={"environment_id": staging}).json()
    assert {f["environment_id"] for f in only["flags"]} == {staging}
    assert api.get("/api/v1/projects/00000000-0000-4000-8000-000000000000/flags").status_code == 404


def test_get_flag_returns_rules_by_priority(emulator: EmulatorHandle, api: httpx.Client) -> None:
    fid = flag_id(emulator, "production", "checkout-v2")
    body = api.get(project_path(emulator, f"/flags/{fid}")).json()
    assert body["flag"]["key"] == "checkout-v2"
    assert len(body["flag"]["salt"]) == 8
    priorities = [r["priority"] for r in body["rules"]]
    assert priorities == sorted(priorities)
    assert "percentage" in {r["rule_type"] for r in body["rules"]}
    missing = api.get(project_path(emulator, "/flags/nope"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_each_mutation_is_one_event_on_entitled_streams_only(
    emulator: EmulatorHandle, api: httpx.Client
) -> None:
    ids = emulator.credentials.environment_ids
    keys = emulator.credentials.keys
    async with (
        RawStream(emulator.base_url, {"X-API-Key": keys["production"]["sdk"]}) as prod,
        RawStream(emulator.base_url, {"X-API-Key": keys["staging"]["stream"]}) as staging,
    ):
        assert await emulator.await_streams(2)

        def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
            response = api.request(method, project_path(emulator, path), json=body)
            assert response.status_code == 200, response.text
            return response.json()

        flag = call(
            "POST",
            "/flags",
            {
                "environment_id": ids["production"],
                "key": "api-made",
                "name": "API made",
                "description": None,
                "enabled": True,
                "default_value": False,
            },
        )["flag"]
        assert flag["version"] == 1 and flag["value_type"] == "boolean"
        call("PATCH", f"/flags/{flag['id']}", {"enabled": False, "description": "off for now"})
        rule = call(
            "POST",
            "/rules",
            {
                "flag_id": flag["id"],
                "priority": 1,
                "rule_type": "attribute",
                "attribute": "country",
                "operator": "in",
                "value_json": json.dumps(["TR", "DE"]),
                "return_value": True,
            },
        )["rule"]
        assert rule["bucket_by"] == "user_id" and rule["is_active"] is True
        call("PATCH", f"/rules/{rule['id']}", {"value_json": '["TR"]', "is_active": False})
        assert call("DELETE", f"/rules/{rule['id']}") == {"deleted": True}
        assert call("DELETE", f"/flags/{flag['id']}") == {"deleted": True}
        # One staging change as the end marker for the staging stream.
        staging_flag = flag_id(emulator, "staging", "new-dashboard")
        call("PATCH", f"/flags/{staging_flag}", {"default_value": True})
        events = await prod.wait_events(6)
        staged = await staging.wait_events(1)
        assert emulator.events_published == 7
    assert [(e["type"], e["flag_key"], e["version"]) for e in events] == [
        ("flag.created", "api-made", 1),
        ("flag.updated", "api-made", 2),
        ("rule.created", "api-made", 3),
        ("rule.updated", "api-made", 4),
        ("rule.deleted", "api-made", 5),
        ("flag.deleted", "api-made", 6),
    ]
    assert len(prod.events()) == 6  # the staging change did not reach production
    assert [(e["type"], e["flag_key"], e["environment_id"]) for e in staged] == [
        ("flag.updated", "new-dashboard", ids["staging"])
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/flags", {"key": "x"}, 400, "validation.environment_id"),
        ("/flags", {"environment_id": "prod-id", "name": "x"}, 400, "validation.key"),
        # The documented create requires a name (it used to default to the key).
        ("/flags", {"environment_id": "prod-id", "key": "x"}, 400, "validation.name"),
        ("/flags", {"environment_id": "prod-id", "key": "x", "name": ""}, 400, "validation.name"),
        (
            "/flags",
            {"environment_id": "prod-id", "key": "x", "name": "X", "value_type": "date"},
            400,
            "validation.value_type",
        ),
        (
            "/flags",
            {
                "environment_id": "prod-id",
                "key": "x",
                "name": "X",
                "value_type": "number",
                "default_value": "1",
            },
            400,
            "validation.default_value",
        ),
        (
            "/flags",
            {"environment_id": "prod-id", "key": "new-dashboard", "name": "N"},
            409,
            "conflict",
        ),
        ("/flags", {"environment_id": "nope", "key": "x", "name": "X"}, 404, "not_found"),
        (
            "/flags",
            {"environment_id": "prod-id", "key": "x", "name": "X", "enabled": "yes"},
            400,
            "validation.enabled",
        ),
        (
            "/rules",
            {"flag_id": "flag-id", "priority": 0, "rule_type": "magic", "return_value": True},
            400,
            "validation.rule_type",
        ),
        (
            "/rules",
            {
                "flag_id": "flag-id",
                "priority": 0,
                "rule_type": "attribute",
                "attribute": "plan",
                "operator": "like",
                "value_json": '"x"',
                "return_value": True,
            },
            400,
            "validation.operator",
        ),
        (
            "/rules",
            {
                "flag_id": "flag-id",
                "priority": 0,
                "rule_type": "attribute",
                "attribute": "plan",
                "operator": "in",
                "value_json": '"x"',
                "return_value": True,
            },
            400,
            "validation.value_json",
        ),
        (
            "/rules",
            {
                "flag_id": "flag-id",
                "priority": 0,
                "rule_type": "percentage",
                "rollout_percentage": 101,
                "return_value": True,
            },
            400,
            "validation.rollout_percentage",
        ),
        (
            "/rules",
            {"flag_id": "flag-id", "priority": 0, "rule_type": "boolean", "return_value": "yes"},
            400,
            "validation.return_value",
        ),
        (
            "/rules",
            {"flag_id": "flag-id", "rule_type": "boolean", "return_value": True},
            400,
            "validation.priority",
        ),
        (
            "/rules",
            {"flag_id": "nope", "priority": 0, "rule_type": "boolean", "return_value": True},
            404,
            "not_found",
        ),
    ],
)
def test_bad_management_requests(
    emulator: EmulatorHandle,
    api: httpx.Client,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    body = {k: v for k, v in body.items()}
    if body.get("environment_id") == "prod-id":
        body["environment_id"] = emulator.credentials.environment_ids["production"]
    if body.get("flag_id") == "flag-id":
        body["flag_id"] = flag_id(emulator, "production", "new-dashboard")
    response = api.post(project_path(emulator, path), json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert emulator.events_published == 0  # a refused mutation publishes nothing


def test_a_created_flag_is_enabled_unless_told_otherwise(
    emulator: EmulatorHandle, api: httpx.Client
) -> None:
    production = emulator.credentials.environment_ids["production"]
    key = emulator.credentials.keys["production"]["sdk"]

    def create(body: dict[str, Any]) -> dict[str, Any]:
        response = api.post(project_path(emulator, "/flags"), json=body)
        assert response.status_code == 200, response.text
        flag: dict[str, Any] = response.json()["flag"]
        return flag

    plain = create({"environment_id": production, "key": "plain", "name": "Plain"})
    off = create({"environment_id": production, "key": "off", "name": "Off", "enabled": False})
    assert (plain["enabled"], plain["name"], off["enabled"]) == (True, "Plain", False)
    # And the switch is what evaluate sees: the default value, not "disabled".
    for flag_key, reason in (("plain", "default"), ("off", "disabled")):
        answer = httpx.post(
            emulator.base_url + "/api/v1/evaluate",
            headers={"X-API-Key": key},
            json={"flag_key": flag_key, "environment_key": "production"},
            timeout=5,
        ).json()
        assert answer["reason"] == reason


def test_deletes_answer_deleted_true_and_a_second_delete_404(
    emulator: EmulatorHandle, api: httpx.Client
) -> None:
    flag = emulator.world.get_flag("production", "checkout-v2")
    rule = flag.sorted_rules()[0]
    assert api.delete(project_path(emulator, f"/rules/{rule.id}")).json() == {"deleted": True}
    assert api.delete(project_path(emulator, f"/rules/{rule.id}")).status_code == 404
    assert api.delete(project_path(emulator, f"/flags/{flag.id}")).json() == {"deleted": True}
    again = api.delete(project_path(emulator, f"/flags/{flag.id}"))
    assert again.status_code == 404 and again.json()["code"] == "not_found"
    assert emulator.events_published == 2  # rule.deleted, flag.deleted; the 404s publish nothing


def test_patch_rule_validates_against_the_flag_type(
    emulator: EmulatorHandle, api: httpx.Client
) -> None:
    flag = emulator.world.get_flag("production", "api-rate-limit")
    rule = flag.sorted_rules()[0]
    response = api.patch(project_path(emulator, f"/rules/{rule.id}"), json={"return_value": True})
    assert response.status_code == 400
    assert response.json()["code"] == "validation.return_value"
    assert emulator.world.get_flag("production", "api-rate-limit").version == flag.version
    assert api.patch(project_path(emulator, "/rules/nope"), json={}).status_code == 404
