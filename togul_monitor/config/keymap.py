"""The TUI's binding ids and default keys, and the checks of a `[keymap]` table against them.

The ids are public names (`profiles.toml`: `[keymap]` `filter = "ctrl+f"`), listed here so the
configuration stage can validate the table without Textual; `ui/keymap.py` binds the same ids to
actions and labels (a test keeps the two lists equal).

What a key string may be (Textual's names, checked by syntax alone): keys separated by commas,
each an optional chain of modifiers (`ctrl+`, `shift+`, `alt+`, `meta+`) and then one printable
character or a known key name (`escape`, `enter`, `f1`…`f24`, `slash`, `question_mark`...). A
character and its name are one key (`?` is `question_mark`), as they are to Textual.

A remap must not hide another binding: two ids on one key, or a key another id keeps by default,
would leave one of them dead (`filter = "q"` would take Quit), so both are refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from togul_monitor.protocol import EVENT_TYPES

#: Binding id → its default keys, in the footer's order (ui/keymap.py holds the actions).
BINDING_DEFAULTS: dict[str, str] = {
    "filter": "slash",
    "pause": "space",
    "follow": "end",
    "detail": "enter",
    "profiles": "p",
    "command_palette": "ctrl+p",
    "watch": "w",
    "time_format": "t",
    "copy": "y",
    "jump": "g,colon",
    "inventory": "i",
    "compare": "c",
    "coverage": "o",
    "export": "e",
    "clear": "C",
    "reconnect": "R",
    "reevaluate": "r",
    "edit_profile": "E",
    "help": "question_mark,f1",
    "quit": "q",
    **{f"toggle_type_{index}": str(index) for index in range(1, len(EVENT_TYPES) + 1)},
}
BINDING_IDS: tuple[str, ...] = tuple(BINDING_DEFAULTS)

MODIFIERS: tuple[str, ...] = ("ctrl", "shift", "alt", "meta")
NAMED_KEYS: frozenset[str] = frozenset(
    {
        "escape",
        "enter",
        "tab",
        "space",
        "backspace",
        "delete",
        "insert",
        "home",
        "end",
        "pageup",
        "pagedown",
        "up",
        "down",
        "left",
        "right",
        *(f"f{n}" for n in range(1, 25)),
    }
)
# Textual names a punctuation character after its Unicode name, with a few shorter ones.
_RENAMED = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}
_ASCII_PUNCTUATION = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())


def character_key(char: str) -> str:
    """Textual's name for the key that types `char` (`/` → `slash`, `a` → `a`)."""
    if char.isalnum():
        return char
    try:
        name = unicodedata.name(char).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return char
    return _RENAMED.get(name, name)


#: The character each punctuation key types (`colon` → `:`): what a person is shown.
PUNCTUATION_CHARACTERS: dict[str, str] = {character_key(c): c for c in _ASCII_PUNCTUATION}
#: The names of the punctuation keys (`slash`, `question_mark`, `comma`, `full_stop`...).
PUNCTUATION_NAMES: frozenset[str] = frozenset(PUNCTUATION_CHARACTERS)
_SEPARATOR = re.compile(r"\s*,\s*")


def parse_key(text: str) -> tuple[str, str | None]:
    """`(normal form, problem)` of one key (`ctrl+/` → `ctrl+slash`); problem None when valid.
    Names are lowercase, as Textual spells them."""
    parts = text.split("+")
    *modifiers, base = parts
    if not base:
        return text, "ends with '+': name the key after the modifiers (plus for '+')"
    seen: list[str] = []
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            return text, f"{modifier!r} is not a modifier (ctrl, shift, alt or meta)"
        same = "alt" if modifier == "meta" else modifier  # one key to Textual
        if same in seen:
            return text, f"{modifier!r} is given twice"
        seen.append(same)
    if len(base) == 1:
        if not base.isprintable() or base.isspace():
            return text, "not a printable character (use space, tab, enter...)"
        name = character_key(base)
    elif base in NAMED_KEYS or base in PUNCTUATION_NAMES:
        name = base
    else:
        return text, f"{base!r} is not a key name{_close(base.lower())}"
    prefix = "".join(f"{m}+" for m in MODIFIERS if m in seen)
    return prefix + name, None


def _close(name: str) -> str:
    from difflib import get_close_matches

    found = get_close_matches(name, sorted(NAMED_KEYS | PUNCTUATION_NAMES), n=1, cutoff=0.6)
    return f" (did you mean {found[0]!r}?)" if found else ""


def parse_keys(text: str) -> tuple[tuple[str, ...], str | None]:
    """The normal forms of a comma-separated key list, and the first problem (or None)."""
    keys: list[str] = []
    for part in _SEPARATOR.split(text.strip()):
        if not part:
            return (), "an empty key in the list (',' separates keys; the key itself is comma)"
        key, problem = parse_key(part)
        if problem:
            return (), problem if repr(part) in problem else f"{part!r}: {problem}"
        keys.append(key)
    return tuple(keys), None


def keymap_problems(keymap: Mapping[str, str]) -> list[tuple[str, str]]:
    """`(binding id, message)` for each problem of a `[keymap]` table whose ids are known and
    whose values are strings, in the table's order: a key that is no key, and a key that two
    bindings would share."""
    problems: list[tuple[str, str]] = []
    owners: dict[str, str] = {}  # normal key → the binding id that has it
    effective = {**BINDING_DEFAULTS, **keymap}
    parsed: dict[str, tuple[str, ...]] = {}
    for binding, keys in effective.items():
        normal, problem = parse_keys(keys)
        if problem:
            problems.append((binding, problem))
        parsed[binding] = normal
    # Defaults first, then the remapped ids, so a clash is reported on the user's line.
    order = [b for b in BINDING_IDS if b not in keymap] + [b for b in keymap if b in parsed]
    for binding in order:
        for key in parsed[binding]:
            other = owners.setdefault(key, binding)
            if other == binding:
                continue
            if other in keymap:
                why = f"{key!r} is also given to {other}: one key, one binding"
            else:
                why = f"{key!r} is {other}'s default key; remap {other} too, or choose another"
            problems.append((binding, why))
    return problems
