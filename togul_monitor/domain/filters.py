"""The filter language shared by the TUI's `/` bar and `--filter` (README.md, Filters).

Grammar (terms separated by whitespace; every term must hold):

    type:flag.updated    event type equals, or starts with, the value   (`type:flag` = flag.*)
    type:rule.*          a glob (`*`, `?`, `[...]`) on the event type
    flag:checkout-*      a glob on the flag key; without glob characters, the exact key
    env:production       a prefix of the environment key (via the id → key map the caller
                         passes: `env:prod` is production), or of the environment id (`env:3f2a`)
    dash                 a bare word: a case-insensitive substring of the flag key
    /^checkout-v\\d+$/   a regular expression searched in the flag key (case-sensitive; use
                         `(?i)` for case-insensitive); it ends at a `/` followed by a space or
                         the end, so it may contain spaces and `\\/`. RE2 syntax, linear time
                         (domain/key_regex.py): backreferences and lookaround are refused
    !term  -term         excludes what `term` matches

Field values and bare words are case-insensitive. Quoting: double quotes group characters
into one term and switch off the special meaning of what they contain, so `"two words"` is a
bare word with a space, `"-v2"` looks for `-v2` instead of excluding `v2`, and `"type:x"` looks for
the text `type:x` in the key. Inside quotes `\\"` is a quote and `\\\\` a backslash; a field
value may be quoted too (`flag:"a b*"`). An unknown field (`tpye:flag`) is an error with a
suggestion; quote it to search for it as text. So is a `type:` value that no event type of the
protocol (`protocol.EVENT_TYPES`) starts with or, for a glob, matches (`type:flag.udpated`,
`type:bogus`): it would hide every event without saying why.

Errors: `parse_filter` raises `FilterError(message, position)`, `position` being the 0-based
offset of the term at fault, or for a /regex/ of the part of the pattern at fault (the caller
keeps the filter in force). No other
exception ever escapes (a property test checks it).

Speed: `Filter.matches` runs per event on the hot path, so each term is compiled once into a
small predicate (globs become compiled regexes) and matching is a plain loop over them. Keys
come from the server, so no term may take more than linear time in the key: globs are
translated with atomic groups (fnmatch) and /regex/ terms run on RE2.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import msgspec

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.key_regex import RegexRefused, compile_key_regex
from togul_monitor.protocol import EVENT_TYPES

FIELDS: tuple[str, ...] = ("type", "flag", "env")
_GLOB_CHARS = frozenset("*?[")
# `word:` at the start of an unquoted term is a field; words of letters only, so `a-b:c` and
# `v1:2` stay bare words.
_FIELD_RE = re.compile(r"[A-Za-z_]+:")

Predicate = Callable[[FlagEvent, "Mapping[str, str] | None"], bool]


class FilterError(ValueError):
    """An invalid filter: `message` says what, `position` where (0-based character offset)."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(f"{message} (at character {position + 1})")


class Term(msgspec.Struct, frozen=True):
    """One parsed term, kept for display and tests."""

    kind: str  # "type", "flag", "env", "word", "regex"
    value: str
    negated: bool
    position: int


@dataclass(frozen=True)
class Filter:
    """A parsed filter: `matches(event)` is True when every term holds."""

    text: str
    terms: tuple[Term, ...] = ()
    _checks: tuple[tuple[Predicate, bool], ...] = field(default=(), repr=False, compare=False)

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, event: FlagEvent, environment_names: Mapping[str, str] | None = None) -> bool:
        """Whether `event` passes; `environment_names` maps environment_id → environment key."""
        for check, negated in self._checks:
            if check(event, environment_names) is negated:
                return False
        return True


def parse_filter(text: str) -> Filter:
    """Parse `text` into a Filter, or raise FilterError with the position of the bad term."""
    if not isinstance(text, str):
        raise FilterError("the filter must be text", 0)
    terms: list[Term] = []
    checks: list[tuple[Predicate, bool]] = []
    for raw in _tokenize(text):
        term, check = _compile(raw)
        terms.append(term)
        checks.append((check, term.negated))
    return Filter(text, tuple(terms), tuple(checks))


# --- tokenizing ---------------------------------------------------------------------------


class _RawTerm(msgspec.Struct, frozen=True):
    start: int  # offset of the term's first character (its `!`/`-` included)
    negated: bool
    regex: str | None  # the body of a /regex/ term
    field_name: str | None  # "type" for `type:...` (unquoted prefix only)
    field_pos: int  # offset of the field name
    value: str  # unquoted text after the field prefix, or the whole bare word
    value_pos: int


def _tokenize(text: str) -> list[_RawTerm]:
    out: list[_RawTerm] = []
    n = len(text)
    pos = 0
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        start = pos
        negated = False
        if text[pos] in "!-":
            negated = True
            pos += 1
            if pos >= n or text[pos].isspace():
                raise FilterError(f"{text[start]!r} must be followed by the term to exclude", start)
        if text[pos] == "/":
            body, pos = _read_regex(text, pos)
            out.append(_RawTerm(start, negated, body, None, pos, "", pos))
            continue
        field_name = None
        field_pos = pos
        m = _FIELD_RE.match(text, pos)
        if m is not None:
            field_name = m.group()[:-1].lower()
            pos = m.end()
        value_pos = pos
        value, pos = _read_word(text, pos)
        out.append(_RawTerm(start, negated, None, field_name, field_pos, value, value_pos))
    return out


def _read_regex(text: str, pos: int) -> tuple[str, int]:
    """The body of the /regex/ starting at `pos` and the offset after it."""
    n = len(text)
    i = pos + 1
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "/" and (i + 1 == n or text[i + 1].isspace()):
            return text[pos + 1 : i], i + 1
        i += 1
    raise FilterError("unterminated /regex/: end it with '/' followed by a space or the end", pos)


def _read_word(text: str, pos: int) -> tuple[str, int]:
    """A word up to the next unquoted whitespace, with quotes removed and escapes applied."""
    n = len(text)
    chars: list[str] = []
    while pos < n:
        ch = text[pos]
        if ch.isspace():
            break
        if ch == '"':
            quote_at = pos
            pos += 1
            while True:
                if pos >= n:
                    raise FilterError('unterminated quote: add the closing "', quote_at)
                ch = text[pos]
                if ch == "\\" and pos + 1 < n and text[pos + 1] in '"\\':
                    chars.append(text[pos + 1])
                    pos += 2
                    continue
                if ch == '"':
                    pos += 1
                    break
                chars.append(ch)
                pos += 1
            continue
        chars.append(ch)
        pos += 1
    return "".join(chars), pos


# --- compiling ----------------------------------------------------------------------------


def _compile(raw: _RawTerm) -> tuple[Term, Predicate]:
    if raw.regex is not None:
        return _compile_regex(raw)
    if raw.field_name is None:
        value = raw.value
        if not value:
            raise FilterError(
                "empty term: an empty pair of quotes matches nothing useful", raw.start
            )
        needle = value.lower()
        return Term("word", value, raw.negated, raw.start), _word_check(needle)
    name = raw.field_name
    if name not in FIELDS:
        close = difflib.get_close_matches(name, FIELDS, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]}:?)" if close else f" (fields: {', '.join(FIELDS)})"
        raise FilterError(
            f"unknown field {name + ':'!r}{hint}; quote the term to search for it as text",
            raw.field_pos,
        )
    value = raw.value
    if not value:
        raise FilterError(f"{name}: needs a value", raw.field_pos)
    term = Term(name, value, raw.negated, raw.start)
    if name == "type":
        problem = _unknown_type(value.lower())
        if problem:
            raise FilterError(problem, raw.field_pos)
        return term, _type_check(value.lower())
    if name == "flag":
        return term, _flag_check(value)
    return term, _env_check(value.lower())


def _compile_regex(raw: _RawTerm) -> tuple[Term, Predicate]:
    body = raw.regex or ""
    if not body:
        raise FilterError("empty /regex/", raw.start)
    try:
        found = compile_key_regex(body)
    except RegexRefused as exc:
        # The caret goes to the part of the pattern at fault: after the `!`/`-` and the `/`.
        body_at = raw.start + (2 if raw.negated else 1)
        raise FilterError(exc.message, body_at + exc.offset) from None

    def check(event: FlagEvent, _names: Mapping[str, str] | None) -> bool:
        return found(event.flag_key)

    return Term("regex", body, raw.negated, raw.start), check


#: What a `type:` value is checked against: the six types and the two families.
TYPE_NAMES: tuple[str, ...] = (*EVENT_TYPES, *dict.fromkeys(t.split(".")[0] for t in EVENT_TYPES))


_TYPES_HINT = "types are flag.* and rule.* (created, updated, deleted)"


def _unknown_type(value: str) -> str | None:
    """Why `type:value` can match no event type, or None when some type matches it."""
    if _GLOB_CHARS.intersection(value):
        match = _glob(value)
        if any(match(event_type) for event_type in EVENT_TYPES):
            return None
        return f"type:{value} matches no event type: {_TYPES_HINT}"
    if any(event_type.startswith(value) for event_type in EVENT_TYPES):
        return None
    close = difflib.get_close_matches(value, TYPE_NAMES, n=1, cutoff=0.6)
    if close:
        return f"unknown event type {value!r} (did you mean type:{close[0]}?)"
    return f"unknown event type {value!r}: {_TYPES_HINT}"


def _glob(value: str) -> Callable[[str], re.Match[str] | None]:
    # fnmatch.translate gives an anchored pattern; IGNORECASE because keys and types are
    # conventionally lower case and a filter typed in a hurry should not depend on shift.
    return re.compile(fnmatch.translate(value), re.IGNORECASE | re.DOTALL).match


def _word_check(needle: str) -> Predicate:
    def check(event: FlagEvent, _names: Mapping[str, str] | None) -> bool:
        return needle in event.flag_key.lower()

    return check


def _type_check(value: str) -> Predicate:
    if _GLOB_CHARS.intersection(value):
        match = _glob(value)

        def check_glob(event: FlagEvent, _names: Mapping[str, str] | None) -> bool:
            return match(event.type) is not None

        return check_glob

    def check_prefix(event: FlagEvent, _names: Mapping[str, str] | None) -> bool:
        return event.type.lower().startswith(value)

    return check_prefix


def _flag_check(value: str) -> Predicate:
    if _GLOB_CHARS.intersection(value):
        match = _glob(value)

        def check_glob(event: FlagEvent, _names: Mapping[str, str] | None) -> bool:
            return match(event.flag_key) is not None

        return check_glob
    wanted = value.lower()

    def check_exact(event: FlagEvent, _names: Mapping[str, str] | None) -> bool:
        return event.flag_key.lower() == wanted

    return check_exact


def _env_check(value: str) -> Predicate:
    def check(event: FlagEvent, names: Mapping[str, str] | None) -> bool:
        env_id = event.environment_id
        if names:
            key = names.get(env_id)
            if key is not None and key.lower().startswith(value):
                return True
        return env_id.lower().startswith(value)

    return check
