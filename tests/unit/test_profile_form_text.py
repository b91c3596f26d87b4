"""The profile form shows every field escaped (ui/view/profile_edit.py `form_text`) and reads
each back as it was wherever the user left it (`typed_text`): a watched key is the server's
text, and a context's value may hold a tab the line form cannot say."""

from __future__ import annotations

from togul_monitor.ui.view.profile_edit import (
    FormFields,
    contexts_text,
    form_text,
    parse_contexts,
    plan_save,
    typed_text,
)

ESC_KEY = "ttl\x1b]2;PWNED\x1b\\z"


def test_a_single_line_field_shows_no_control_character_not_even_a_line_feed() -> None:
    shown = form_text("watch", f"{ESC_KEY}, line1\nline2")
    assert not any(c in shown for c in "\x1b\n")
    assert shown == "ttl\\x1b]2;PWNED\\x1b\\z, line1\\x0aline2"


def test_each_watched_key_shown_escaped_is_read_back_as_it_was() -> None:
    original = f"{ESC_KEY}, line1\nline2, plain"
    shown = form_text("watch", original)
    assert typed_text("watch", shown, original) == original  # untouched
    edited = shown.replace(", plain", ", other")
    keys = [k.strip() for k in typed_text("watch", edited, original).split(",")]
    assert keys == [ESC_KEY, "line1\nline2", "other"]


def test_keys_spelled_alike_once_escaped_map_back_in_order() -> None:
    literal = "k\\x1b"  # a key spelled with a backslash: shown as itself
    original = f"k\x1b, {literal}"
    edited = form_text("watch", original) + ", new"
    keys = [k.strip() for k in typed_text("watch", edited, original).split(",")]
    assert keys == ["k\x1b", literal, "new"]


def test_a_named_context_line_left_as_shown_keeps_its_saved_context() -> None:
    saved = {"beta": {"user": "a\tb", "tags": "x, y"}, "alpha": {"plan": "free"}}
    original = contexts_text(saved)
    shown = form_text("contexts", original)
    assert "\t" not in shown and shown.count("\n") == 1  # escaped, still two lines
    edited = shown.replace("plan=free", "plan=pro")  # only alpha's line edited
    read = typed_text("contexts", edited, original)
    assert parse_contexts(read, saved) == {
        "beta": {"user": "a\tb", "tags": "x, y"},  # the tab and the comma kept
        "alpha": {"plan": "pro"},
    }


def test_the_context_field_maps_each_pair_back() -> None:
    original = "user=a\tb, plan=free"
    edited = form_text("context", original).replace("plan=free", "plan=pro")
    assert typed_text("context", edited, original) == "user=a\tb, plan=pro"
    fields = FormFields(
        name="p",
        base_url="http://127.0.0.1:1",
        environment_key="production",
        api_key="tgl_sdk_0123456789abcdef9f2c",
        context=typed_text("context", edited, original),
        heartbeat_seconds="",
    )
    plan = plan_save(fields, None, {})
    assert plan.error is None and plan.entry is not None
    assert plan.entry.context == {"user": "a\tb", "plan": "pro"}


def test_a_base_url_shows_no_secret_and_saves_each_kept_back() -> None:
    saved = "http://admin:hunter2@127.0.0.1:9/api?token=s3cr3t#frag"
    shown = form_text("base_url", saved)
    assert shown == "http://admin:…@127.0.0.1:9/api?…#…"
    assert "hunter2" not in shown and "s3cr3t" not in shown
    assert typed_text("base_url", shown, saved) == saved  # untouched
    moved = shown.replace(":9/", ":8443/")  # another port: the password and query kept
    assert typed_text("base_url", moved, saved) == saved.replace(":9/", ":8443/")
    retyped = "http://admin:new@127.0.0.1:9/api"  # a new password, no query
    assert typed_text("base_url", retyped, saved) == retyped
    plain = "https://api.togul.io"
    assert form_text("base_url", plain) == plain
    assert typed_text("base_url", "https://eu.togul.io", plain) == "https://eu.togul.io"
