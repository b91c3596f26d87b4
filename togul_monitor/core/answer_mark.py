"""A mark of the calls a `Coalescer` (core/coalesce.py) owed when it was made, told as they
answer: "have the calls events asked for so far answered?" (`tail --count` waits for it)."""

from __future__ import annotations


class AnswerMark:
    """The calls a `Coalescer` owed when the mark was made: flag → answers still to come (two
    for a flag in flight that was asked again meanwhile: its answer, then the call after it)."""

    def __init__(self, owed: dict[str, int]) -> None:
        self.owed = owed

    def __call__(self) -> bool:  # every call owed at the mark answered (or never to be made)
        return not self.owed

    def answered(self, key: str) -> None:
        self.at_most(key, self.owed.get(key, 0) - 1)

    def at_most(self, key: str, left: int) -> None:
        """No more than `left` answers of `key` will come (what waited was dropped)."""
        if left <= 0:
            self.owed.pop(key, None)
        elif self.owed.get(key, 0) > left:
            self.owed[key] = left

    def at_least(self, key: str, left: int) -> None:
        """`left` answers of `key` will come at least (the one owed was superseded)."""
        self.owed[key] = max(self.owed.get(key, 0), left)
