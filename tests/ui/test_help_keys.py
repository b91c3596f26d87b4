"""The help names each key as it is typed (`:`, not `colon`), remapped ones too."""

from __future__ import annotations

from togul_monitor.ui.screens.help import help_rows, key_label


def test_punctuation_keys_are_shown_as_the_characters_they_type() -> None:
    rows = {binding: keys for keys, _tip, binding in help_rows({})}
    assert rows["jump"] == "g :"
    assert rows["filter"] == "/"
    assert rows["help"] == "? f1"
    assert key_label("ctrl+slash,full_stop,space,enter") == "ctrl+/ . space enter"
    assert {b: k for k, _t, b in help_rows({"jump": "comma"})}["jump"] == ","
