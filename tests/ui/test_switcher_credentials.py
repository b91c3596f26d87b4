"""The profile switcher's line says each credential a profile has, masked (a key streams and
evaluates, a token reads the configurations): a profile with both shows both."""

from __future__ import annotations

from togul_monitor.config.profiles import Profile
from togul_monitor.ui.screens.profile_switcher import profile_label

KEY = "tgl_sdk_Qg8xbDZnHoy7qF5VNHOARQwTtY8sp3vV"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJli6Hc"


def line(**credentials: str) -> str:
    profile = Profile(name="p", base_url="http://x", environment_key="production", **credentials)
    return profile_label(profile, "other").plain


def test_a_profile_with_a_key_and_a_token_shows_both_masked() -> None:
    both = line(api_key=KEY, token=TOKEN)
    assert both.endswith("key tgl_sdk_…p3vV · token …i6Hc")  # was `token …i6Hc` alone
    assert KEY not in both and TOKEN not in both
    assert line(api_key=KEY).endswith("  key tgl_sdk_…p3vV")
    assert line(token=TOKEN).endswith("  token …i6Hc")
    assert line().endswith("  no credential")


def test_a_urls_password_and_query_are_not_shown() -> None:
    # As `profiles list` and `tail` show it (config/validate.py `display_url`); `web` shows this
    # screen to a whole team.
    url = "http://carol:SuperSecretPw99@127.0.0.1:18555/?token=QuerySecret123"
    profile = Profile(name="p", base_url=url, environment_key="production", api_key=KEY)
    shown = profile_label(profile, "other").plain
    assert "SuperSecretPw99" not in shown and "carol" not in shown and "QuerySecret" not in shown
    assert " http://127.0.0.1:18555/?…  key tgl_sdk_…p3vV" in shown
