"""`[keymap]` in profiles.toml is validated like the rest of the file: known binding ids (with
the line and a did-you-mean), key names by syntax, and no binding that hides another."""

from __future__ import annotations

import pytest
from textual.keys import Keys, _character_to_key

from togul_monitor.config import paths
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.keymap import (
    BINDING_DEFAULTS,
    NAMED_KEYS,
    PUNCTUATION_NAMES,
    character_key,
    parse_keys,
)
from togul_monitor.config.profiles import load_config
from togul_monitor.ui.keymap import DEFAULT_KEYS


def keymap_error(body: str) -> ConfigError:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# keys\n[keymap]\n" + body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert info.value.file == path
    return info.value


def test_an_unknown_binding_id_is_refused_with_its_line_and_the_nearest_id() -> None:
    error = keymap_error('pause = "ctrl+space"\nfiltre = "ctrl+f"\n')
    assert error.line == 4 and error.key == "keymap.filtre"
    assert "unknown binding id (did you mean 'filter'?)" in str(error)
    error = keymap_error('bogus_action = "x"\n')
    assert error.line == 3 and "unknown binding id" in str(error)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"nonsensekey!!"', "'nonsensekey!!' is not a key name"),
        ('"Ctrl+f"', "'Ctrl' is not a modifier"),
        ('"ctrl+"', "ends with '+'"),
        ('"f25"', "'f25' is not a key name"),
        ('"slash,,f1"', "an empty key in the list"),
        ('"escpae"', "did you mean 'escape'?"),
        ('"ctrl+ctrl+f"', "'ctrl' is given twice"),
        ('"   "', "non-empty string of keys"),
    ],
)
def test_a_key_that_is_no_key_is_refused(value: str, says: str) -> None:
    error = keymap_error(f"filter = {value}\n")
    assert error.line == 3 and error.key == "keymap.filter"
    assert says in str(error)


def test_a_binding_that_hides_another_is_refused() -> None:
    # `q` is Quit's: `/` would stop working and `q` would no longer quit.
    error = keymap_error('filter = "q"\n')
    assert error.line == 3 and "'q' is quit's default key" in str(error)
    # Two ids on one key, whichever way it is spelt.
    error = keymap_error('filter = "ctrl+f"\npause = "space,ctrl+f"\n')
    assert error.line == 4 and "'ctrl+f' is also given to filter" in str(error)
    error = keymap_error('filter = "?"\n')
    assert "'question_mark' is help's default key" in str(error)
    error = keymap_error('watch = "meta+w"\nexport = "alt+w"\n')
    assert "'alt+w' is also given to watch" in str(error)


def test_valid_remaps_are_kept() -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[keymap]\n"
        'filter = "q"\n'  # free: Quit moved away
        'quit = "ctrl+q"\n'
        'help = "?,f1"\n'  # a character and its name are one key
        'pause = "ctrl+space"\n'
        'toggle_type_1 = "shift+1"\n'
        'clear = "ctrl+shift+backspace"\n',
        encoding="utf-8",
    )
    keymap = load_config().keymap
    assert keymap == {
        "filter": "q",
        "quit": "ctrl+q",
        "help": "?,f1",
        "pause": "ctrl+space",
        "toggle_type_1": "shift+1",
        "clear": "ctrl+shift+backspace",
    }


def test_the_ids_and_defaults_are_the_tuis() -> None:
    """config/keymap.py lists what ui/keymap.py binds: the same ids, the same default keys."""
    assert {i: keys for i, (keys, *_rest) in DEFAULT_KEYS.items()} == BINDING_DEFAULTS
    for keys in BINDING_DEFAULTS.values():
        assert parse_keys(keys)[1] is None


def test_key_names_are_textuals() -> None:
    textual_keys = {k.value for k in Keys}
    assert NAMED_KEYS <= textual_keys
    for code in range(0x21, 0x7F):
        char = chr(code)
        assert character_key(char) == _character_to_key(char)
    assert {"slash", "question_mark", "comma", "full_stop", "minus", "plus"} <= PUNCTUATION_NAMES
