"""The `/regex/` of the filter language, compiled by RE2: matching runs in time linear in the key.

Flag keys come from the server, and a filter runs on every event (on the TUI's loop, in `tail`):
with a backtracking engine one pattern such as `(a|a)*b` or `.*-.*-.*-v2` and one long key from
the server stall the monitor for seconds per event. RE2 never backtracks. It cannot express what
needs backtracking (backreferences, lookaround, atomic groups, possessive repeats): such a
pattern is refused with what to do instead, never run by a slower engine.

The syntax is RE2's (https://github.com/google/re2/wiki/Syntax), close to Python's: `(?i)` for
case-insensitive, `\\d \\w \\s` are ASCII, `\\pL` any letter, `\\z` the end of the key.
"""

from __future__ import annotations

from collections.abc import Callable

import re2

# RE2's messages are "<what>: <the part of the pattern at fault>". What needs backtracking, by
# how it starts, with what to write instead.
_UNSUPPORTED: tuple[tuple[str, str], ...] = (
    ("(?=", "lookahead (?=...)"),
    ("(?!", "negative lookahead (?!...): exclude with a -/regex/ term instead"),
    ("(?<=", "lookbehind (?<=...)"),
    ("(?<!", "negative lookbehind (?<!...): exclude with a -/regex/ term instead"),
    ("(?>", "an atomic group (?>...): drop it, matching never backtracks"),
    ("(?#", "a comment (?#...)"),
    ("(?(", "a conditional (?(...)...)"),
    ("(?P=", "a backreference (?P=name)"),
    ("\\Z", "\\Z: write \\z for the end of the key"),
)
_NOT_SUPPORTED = "not supported in a filter (RE2 syntax, which runs in linear time): "
# Linear time is (key length) x (program size) at worst: a repeat count inflates the program
# (`.{0,999}` is 9,000 steps, about 1 ms per 400-character key), and a filter runs per event.
MAX_PROGRAM_SIZE = 1_000


class RegexRefused(ValueError):
    """The pattern is invalid or needs backtracking: `offset` is where, in the pattern."""

    def __init__(self, message: str, offset: int) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message)


def _options() -> re2.Options:
    options = re2.Options()
    # RE2 would print every refused pattern on stderr, over the TUI: the caller says it instead.
    options.log_errors = False
    options.never_capture = True  # only whether it matches is wanted
    return options


_OPTIONS = _options()


def compile_key_regex(pattern: str) -> Callable[[str], bool]:
    """A predicate that says whether `pattern` is found in a key, or RegexRefused."""
    try:
        pattern.encode("utf-8")  # RE2 takes UTF-8: a lone surrogate cannot be a pattern
    except UnicodeEncodeError as exc:
        raise RegexRefused("the regex holds a character that is not text", exc.start) from None
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except Exception as exc:  # a C++ library's error surfaces as any kind: all are refusals
        raise _refusal(pattern, exc) from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise _too_large(pattern, f"{compiled.programsize:,} steps")
    search = compiled.search

    def matches(key: str) -> bool:
        # A key from the server may hold a lone surrogate (a JSON "\ud800"): strict UTF-8 would
        # raise on it; passed through, RE2 reads it as one character, as Python's re does.
        return search(key.encode("utf-8", "surrogatepass")) is not None

    return matches


def _refusal(pattern: str, exc: Exception) -> RegexRefused:
    raw = exc.args[0] if exc.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    what, _, part = text.partition(": ")
    if part:
        # RE2 names the construct by its first characters (`(?P` for `(?P=name)`).
        found = [
            (pattern.find(prefix), name)
            for prefix, name in _UNSUPPORTED
            if prefix in pattern and (prefix.startswith(part) or part.startswith(prefix))
        ]
        if found:
            offset, name = min(found)
            return RegexRefused(_NOT_SUPPORTED + name, offset)
    offset = max(pattern.find(part), 0) if part else 0
    if what == "invalid escape sequence" and part[1:2] in tuple("123456789"):
        return RegexRefused(_NOT_SUPPORTED + f"a backreference {part}", offset)
    if what == "bad repetition operator" and len(part) == 2 and part[1] == "+":
        return RegexRefused(
            _NOT_SUPPORTED + f"a possessive repeat {part}: write {part[0]}, it never backtracks",
            offset,
        )
    if what.startswith("pattern too large"):
        return _too_large(pattern, "too many steps")
    detail = f"{what}: {part}" if part else (what or type(exc).__name__)
    return RegexRefused(f"invalid regex: {detail}", offset)


def _too_large(pattern: str, size: str) -> RegexRefused:
    return RegexRefused(
        f"regex too large to run on every event ({size}, at most {MAX_PROGRAM_SIZE:,}): "
        "use smaller repeat counts",
        max(pattern.find("{"), 0),
    )
