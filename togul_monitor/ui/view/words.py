"""Prose in a given number of cells: cut or wrapped between words, never inside one unless it is
one long word, and a cut marked with `…` ("Name or service not k)" reads as a typo, not a cut).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from togul_monitor.ui.view.change import cut_cells


def fit_words(text: Text, width: int) -> Text:
    """`text` cut to `width` cells with an ellipsis, at a space when one is near enough."""
    if width <= 0 or text.cell_len <= width:
        return text
    plain = text.plain
    room = width - 1  # the ellipsis takes a cell
    end = cells = 0
    for char in plain:
        cells += cell_len(char)
        if cells > room:
            break
        end += 1
    space = plain.rfind(" ", 0, end + 1)
    cut = space if space >= room // 2 else end  # one long word: cut inside it
    line = text[:cut]
    line.rstrip()
    line.append("…")
    return line


def wrap_words(
    text: str, width: int, max_lines: int = 0, *, first: int = 0, split_long: bool = False
) -> list[str]:
    """`text` in lines of at most `width` cells, broken at spaces (a word longer than a line is
    cut with `…`, or with `split_long` goes on over the next lines); `first` > 0: the first
    line's width instead (something stands before it); `max_lines` > 0: the last line kept ends
    with `…` when more would follow."""
    if width <= 0:
        return []
    lines: list[str] = []
    line = ""

    def room() -> int:
        return max(1, first) if first and not lines else width

    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= room():
            line = candidate
            continue
        if line:
            lines.append(line)
        while split_long and cell_len(word) > room():
            head = _head(word, room())
            lines.append(head)
            word = word[len(head) :]
        line = cut_cells(word, room())
    if line:
        lines.append(line)
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = fit_words(Text(lines[-1] + " …"), width).plain
    return lines


def _head(word: str, width: int) -> str:
    """The start of `word` in at most `width` cells (one character at least)."""
    cells = 0
    for index, char in enumerate(word):
        cells += cell_len(char)
        if cells > width:
            return word[:index] or word[:1]
    return word
