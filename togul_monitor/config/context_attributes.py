"""A context's attributes as text: read from a JSON object of strings, and written so that they
read back exactly (the CLI's `--context-set`, `profiles show` and the TUI's profile form).

Pairs (`plan=premium, user_id=u-1`) are the way a person types attributes, but they cannot say
every value: a comma ends a pair, the spaces around a value are trimmed, and a quote reads as if
it quoted something. The JSON object `{"segments": "a,b"}` says any of them; it is told by its
`{`, which no pair list needs to start with. `attributes_text` writes pairs when they say the
attributes exactly, and the JSON object when not, so what is shown is what may be typed back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from togul_monitor.support.kinds import value_kind
from togul_monitor.support.text import safe_json, safe_text

#: Characters no pair may hold: the pair and list separators, and the quotes a value in JSON
#: has, which in a pair would read as quoting.
_PAIR_BREAKERS = (",", '"')


def is_json_attributes(text: str) -> bool:
    """Whether `text` gives the attributes as a JSON object (rather than as pairs)."""
    return text.lstrip().startswith("{")


def parse_json_attributes(text: str) -> dict[str, str]:
    """`{"segments": "a,b"}` as attributes; ValueError naming what is wrong."""
    try:
        document = json.loads(text, object_pairs_hook=_refuse_twice)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} at character {error.pos + 1}") from None
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    for key, value in document.items():
        if not key.strip():
            raise ValueError("an attribute name cannot be empty")
        if key != key.strip():
            # The pairs trim a name: kept, its spaces would make the server see another
            # attribute than the one the same name typed as a pair gives.
            raise ValueError(
                f"attribute {_quoted(key)} has spaces around its name: write {_quoted(key.strip())}"
            )
        if not isinstance(value, str):
            raise ValueError(
                f"attribute {_quoted(key)} must be a JSON string, not {value_kind(value)}"
            )
    return check_text(document)


def check_text(attributes: dict[str, str]) -> dict[str, str]:
    """`attributes`, or ValueError when a name or value holds what is not text: a lone surrogate
    (`"\\ud800"` in JSON, or a byte of the command line that is not UTF-8), which neither the
    profile file nor the server's JSON can carry."""
    for key, value in attributes.items():
        for part in (key, value):
            try:
                part.encode("utf-8")
            except UnicodeEncodeError:
                what = "name" if part is key else "value"
                raise ValueError(
                    f"attribute {_quoted(key)}: its {what} holds a character that is not text"
                    " (a lone surrogate, or a byte that is not UTF-8)"
                ) from None
    return attributes


def _quoted(name: str) -> str:
    return repr(safe_text(name))


def _refuse_twice(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"attribute {_quoted(key)} given twice")
        found[key] = value
    return found


def pairs_say_exactly(attributes: Mapping[str, str]) -> bool:
    """Whether `key=value, key=value` reads back as exactly these attributes, and prints as it
    is (no control or invisible character, which would be shown escaped)."""
    return all(
        _pair_safe(key, is_key=True) and _pair_safe(value) for key, value in attributes.items()
    )


def _pair_safe(text: str, *, is_key: bool = False) -> bool:
    if text != text.strip() or safe_text(text) != text:
        return False
    if any(breaker in text for breaker in _PAIR_BREAKERS):
        return False
    return not is_key or (bool(text) and "=" not in text and not text.startswith("{"))


def attributes_json(attributes: Mapping[str, str]) -> str:
    """The attributes as one line of JSON, printable as it is (an unsafe character escaped the
    JSON way, so the text still parses to the same attributes)."""
    return safe_json(json.dumps(dict(attributes), ensure_ascii=False))


def attributes_text(attributes: Mapping[str, str]) -> str:
    """`plan=premium, user_id=u-1`, or the JSON object when the pairs cannot say the attributes
    exactly (`{"emails": "x@a.com, y@b.com"}`); empty for no attribute. Printable as it is."""
    if pairs_say_exactly(attributes):
        return ", ".join(f"{key}={value}" for key, value in attributes.items())
    return attributes_json(attributes)
