"""The profile form's named contexts, checked without Textual (ui/view/profile_edit.py): one
context a line, errors naming the line, and the edit the form would save."""

from __future__ import annotations

import pytest

from togul_monitor.config.context_attributes import attributes_text
from togul_monitor.config.entry import ProfileEntry
from togul_monitor.ui.view.profile_edit import (
    FormFields,
    contexts_text,
    parse_contexts,
    plan_save,
)

OLD = ProfileEntry(
    name="prod",
    base_url="https://api.togul.io",
    environment_key="production",
    api_key_env="K",
    contexts={"premium": {"plan": "premium", "user_id": "u-1"}, "free": {"plan": "free"}},
)


def fields(contexts: str, **others: str) -> FormFields:
    values = {"name": "prod", "base_url": OLD.base_url, "environment_key": "production"}
    values |= {"api_key_env": "K", **others}
    return FormFields(**values, contexts=contexts)


def test_the_lines_read_back_what_the_form_shows() -> None:
    text = contexts_text(OLD.contexts)
    assert text == "premium: plan=premium, user_id=u-1\nfree: plan=free"
    assert parse_contexts(text) == OLD.contexts
    assert parse_contexts("\n# a note\n  eu :country = DE ,  \nanon:\n") == {
        "eu": {"country": "DE"},
        "anon": {},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("premium: plan=p\nfree plan=free", "contexts line 2: 'free plan=free' is not `name:"),
        ("\n\nbad name: a=b", "contexts line 3: 'bad name': a context name is 1-32"),
        ("a: x=1\nb: y\n", "contexts line 2: 'y' is not key=value"),
        ("a: x=1, x=2", "contexts line 1: attribute 'x' given twice"),
        ("a: x=1\n\na: x=2", "contexts line 3: 'a' is on line 1 already"),
    ],
)
def test_each_mistake_names_its_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_contexts(text)
    assert str(info.value).startswith(message)
    assert plan_save(fields(text), OLD, {}).error == str(info.value)


def test_an_edit_sets_what_changed_and_removes_what_is_gone() -> None:
    plan = plan_save(fields("premium: plan=enterprise\neu: country=DE"), OLD, {"K": "k"})
    assert plan.error is None and plan.changes is not None
    assert plan.changes.set_contexts == {"premium": {"plan": "enterprise"}, "eu": {"country": "DE"}}
    assert plan.changes.remove_contexts == ("free",)
    unchanged = plan_save(fields(contexts_text(OLD.contexts)), OLD, {"K": "k"})
    assert unchanged.changes is not None
    assert not unchanged.changes.set_contexts and not unchanged.changes.remove_contexts


def test_the_validators_refusals_are_the_forms() -> None:
    nine = "\n".join(f"c{i}:" for i in range(9))
    assert "contexts: 9 contexts: at most 8" in (plan_save(fields(nine), OLD, {}).error or "")
    clash = plan_save(fields("default: plan=p", context="user_id=u"), OLD, {"K": "k"})
    assert (clash.error or "").startswith("contexts.default: 'default' is the name")
    new = plan_save(fields("eu: country=DE"), None, {"K": "k"})
    assert new.entry is not None and new.entry.contexts == {"eu": {"country": "DE"}}


ODD = ProfileEntry(
    name="prod",
    base_url=OLD.base_url,
    environment_key="production",
    api_key_env="K",
    context={"emails": "x@a.com, y@b.com"},
    contexts={"odd": {"tags": "a,b", "pad": " x ", "q": '"'}, "free": {"plan": "free"}},
)


def test_a_context_the_pairs_cannot_say_is_shown_as_json_and_saved_back_unchanged() -> None:
    shown = contexts_text(ODD.contexts)
    assert shown == 'odd: {"tags": "a,b", "pad": " x ", "q": "\\""}\nfree: plan=free'
    context = attributes_text(ODD.context)
    assert context == '{"emails": "x@a.com, y@b.com"}'
    plan = plan_save(fields(shown, context=context, environment_key="staging"), ODD, {"K": "k"})
    assert plan.error is None and plan.changes is not None
    assert not plan.changes.set_contexts and not plan.changes.remove_contexts
    assert plan.changes.context == ODD.context and not plan.changes.unset_context
    edited = shown.replace('"pad": " x "', '"pad": "y"')  # its JSON line edited: the rest kept
    plan = plan_save(fields(edited, context=context), ODD, {"K": "k"})
    assert plan.changes is not None
    assert plan.changes.set_contexts == {"odd": {"tags": "a,b", "pad": "y", "q": '"'}}


def test_a_value_holding_a_comma_is_typed_as_a_json_object() -> None:
    typed = 'beta: {"segments": "a,b", "plan": "pro"}\nfree: plan=free'
    assert parse_contexts(typed) == {
        "beta": {"segments": "a,b", "plan": "pro"},
        "free": OLD.contexts["free"],
    }
    plan = plan_save(fields(typed, context=' {"emails": "x, y"} '), None, {"K": "k"})
    assert plan.error is None and plan.entry is not None
    assert plan.entry.context == {"emails": "x, y"}
    assert plan.entry.contexts["beta"] == {"segments": "a,b", "plan": "pro"}


@pytest.mark.parametrize(
    ("contexts", "context", "message"),
    [
        (
            "a: x=1\nb: tags=a,b",
            "",
            "contexts line 2: 'b' is not key=value; a value holding a comma is given as a "
            """JSON object: {"tags": "a,b"}""",
        ),
        ('a: {"x": "1"', "", "contexts line 1: not valid JSON: Expecting ',' delimiter"),
        ('a: {"x": 1}', "", "contexts line 1: attribute 'x' must be a JSON string, not an integer"),
        ('a: {"x": "1", "x": "2"}', "", "contexts line 1: attribute 'x' given twice"),
        ('a: {"x ": "1"}', "", "contexts line 1: attribute 'x ' has spaces around its name"),
        ("", '{"x": "1"} y', "context: not valid JSON: Extra data at character 12"),
        ("", "x=1, x=2", "context: attribute 'x' given twice"),
        # Not text (no file or server can carry it): refused, not a crash on save.
        ('a: {"x": "\\ud800"}', "", "contexts line 1: attribute 'x': its value holds a"),
        ("", "x=\ud800", "context: attribute 'x': its value holds a character that is not"),
    ],
)
def test_a_json_object_that_cannot_be_read_is_refused_in_place(
    contexts: str, context: str, message: str
) -> None:
    assert (plan_save(fields(contexts, context=context), OLD, {"K": "k"}).error or "").startswith(
        message
    )


def test_what_the_form_shows_reads_back_exactly() -> None:
    odd = {"t": "a\tb", "e": "=", "u": "\u202e", "s": " ", "b": "{", "k=": "v", "{k": "v"}
    for key, value in odd.items():
        assert parse_contexts(contexts_text({"one": {key: value}})) == {"one": {key: value}}
    assert parse_contexts(contexts_text({"all": odd})) == {"all": odd}


def test_a_key_typed_in_the_form_stays_out_of_its_repr() -> None:
    # A crash screen prints the locals of the failing frame: the form's fields among them.
    typed = fields("", api_key="tgl_sdk_typed-in-the-form-0123456789")
    assert "typed-in-the-form" not in repr(typed)
    assert typed.api_key == "tgl_sdk_typed-in-the-form-0123456789"
