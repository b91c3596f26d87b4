"""Fuzzy matching of flag keys for the jump finder (`g`): subsequence matches, best first.

A key matches when the query's characters appear in it in order (case-insensitive). Among the
matches, a key scores higher the more of the query lands in runs of consecutive characters, at
the start of the key or of one of its words (after `-`, `_`, `.`, `/`, `:` or a space), and the
shorter it is: what a k9s or fzf user expects of `:`.
"""

from __future__ import annotations

from collections.abc import Iterable

SEPARATORS = frozenset("-_./: ")


def score(query: str, key: str) -> int | None:
    """How well `key` matches `query` (higher is better), None when it does not match."""
    if not query:
        return 0
    needle, hay = query.lower(), key.lower()
    total, at, previous = 0, 0, -2
    for char in needle:
        found = hay.find(char, at)
        if found < 0:
            return None
        # Prefer a later occurrence that starts a word or continues the run, when there is one.
        better = _word_start(hay, char, at)
        if found != previous + 1 and better is not None:
            found = better
        points = 1
        if found == previous + 1:
            points += 5  # a run: `dash` in `new-dashboard`
        if found == 0 or hay[found - 1] in SEPARATORS:
            points += 3  # a word's first letter: `nd` for `new-dashboard`
        total += points
        previous, at = found, found + 1
    if hay.startswith(needle):
        total += 10
    if hay == needle:
        total += 20
    return total * 100 - min(len(key), 99)


def _word_start(hay: str, char: str, at: int) -> int | None:
    for index in range(at, len(hay)):
        if hay[index] == char and (index == 0 or hay[index - 1] in SEPARATORS):
            return index
    return None


def ranked(query: str, keys: Iterable[str], limit: int = 200) -> list[str]:
    """The keys that match `query`, best first (then alphabetically), at most `limit`."""
    scored = []
    for key in set(keys):
        points = score(query, key)
        if points is not None:
            scored.append((-points, key))
    scored.sort()
    return [key for _, key in scored[:limit]]
