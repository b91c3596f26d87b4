"""plan_stream: the monitor's credential and environment plan, without a server."""

from __future__ import annotations

from togul_monitor.client.management import EnvironmentInfo
from togul_monitor.config.profiles import Profile
from togul_monitor.core.plan import plan_stream

SDK = "tgl_sdk_0123456789abcdef9f2c"
SRV = "tgl_srv_0123456789abcdef9f2c"
JWT = "eyJhbGciOiJIUzI1NiJ9.e30.sig"
INFO = EnvironmentInfo("env-p", "production", "proj", ("a", "b"), {"env-p": "production"})


def profile(**fields: object) -> Profile:
    base: dict[str, object] = {
        "name": "p",
        "base_url": "http://127.0.0.1:1",
        "environment_key": "production",
    }
    base.update(fields)
    return Profile(**base)  # type: ignore[arg-type]


def test_a_key_only_profile_streams_with_the_key_and_evaluates() -> None:
    plan = plan_stream(profile(api_key=SDK), None)
    assert plan.credentials.api_key == SDK and plan.credentials.environment_scoped
    assert plan.evaluate and plan.notes == () and plan.environment_id is None


def test_a_known_environment_name_gives_the_id_before_any_event() -> None:
    plan = plan_stream(profile(api_key=SDK, environment_names={"e1": "production"}), None)
    assert plan.environment_id == "e1" and plan.environment_names == {"e1": "production"}


def test_a_token_with_a_server_key_streams_org_wide_once_the_lookup_names_the_id() -> None:
    plan = plan_stream(profile(api_key=SRV, token=JWT), INFO)
    assert plan.credentials.token == JWT and not plan.credentials.environment_scoped
    assert plan.environment_id == "env-p" and plan.listed == ("a", "b") and plan.evaluate


def test_a_failed_lookup_falls_back_to_the_key_and_says_so() -> None:
    plan = plan_stream(profile(api_key=SRV, token=JWT), "HTTP 500")
    assert plan.credentials.api_key == SRV and plan.environment_id is None
    assert plan.notes == ("environment lookup failed (HTTP 500); streaming with the API key",)


def test_a_token_only_profile_streams_but_cannot_evaluate() -> None:
    plan = plan_stream(profile(token=JWT), INFO)
    assert plan.credentials.token == JWT and not plan.evaluate
    assert plan.notes == (
        "no API key: values are not evaluated; add an API key of scope sdk or server to the "
        "profile (api_key_env)",
    )


def test_no_environment_key_means_no_evaluation() -> None:
    plan = plan_stream(profile(api_key=SDK, environment_key=""), None)
    assert not plan.evaluate
    assert plan.notes == ("no environment key: values are not evaluated",)


def test_a_stream_scope_key_streams_and_is_never_asked_to_evaluate() -> None:
    """Asked anyway, every evaluate answered 403 and `tail` said the key "cannot evaluate",
    then "evaluate refused the credentials"."""
    plan = plan_stream(profile(api_key="tgl_str_0123456789abcdef9f2c"), None)
    assert plan.credentials.api_key == "tgl_str_0123456789abcdef9f2c" and not plan.evaluate
    assert plan.notes == (
        "an API key of scope stream: values are not evaluated (it cannot evaluate); add an API "
        "key of scope sdk or server to the profile (api_key_env)",
    )


def test_a_profile_without_an_environment_takes_the_names_its_token_sees() -> None:
    names = {"env-p": "production", "env-s": "staging"}
    plan = plan_stream(profile(token=JWT, environment_key=""), names)
    assert plan.environment_names == names and plan.environment_id is None
    failed = plan_stream(profile(token=JWT, environment_key=""), "HTTP 500")
    assert failed.environment_names == {}
    assert "environment names not known (HTTP 500): events show their ids" in failed.notes


def test_without_a_profile_the_missing_key_is_asked_for_as_a_command_gives_it() -> None:
    """`tail --url … --token-file …` was told to add a key `to the profile (api_key_env)`: it
    has no profile; the fix is the command's own option or variable."""
    from togul_monitor.config.resolve import adhoc_profile

    given = adhoc_profile(url="https://api.example", token=JWT, environment="staging", environ={})
    (note,) = plan_stream(given, INFO).notes
    assert "profile" not in note and "api_key_env" not in note, note
    assert note.endswith("(--api-key-file PATH or TOGUL_API_KEY)"), note
    stream_key = "tgl_str_0123456789abcdef9f2c"
    given = adhoc_profile(url="https://api.example", api_key=stream_key, environ={})
    (note,) = plan_stream(given, None).notes
    assert "profile" not in note and note.endswith("(--api-key-file PATH or TOGUL_API_KEY)")
