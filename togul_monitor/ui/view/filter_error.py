"""An invalid filter's error as the filter bar shows it, under the Input, in a few lines.

The message always shows, whatever the width and however far the Input is scrolled: the caret
`^` only when the term at fault is on screen (counted in cells, as the Input draws the text),
the message after it when it fits there, else on the lines under it; when the term is scrolled
out of view, the message alone, saying at which character. Wrapped between words; what does not
fit in `max_lines` ends with `…`.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from togul_monitor.ui.view.change import ELLIPSIS, cut_cells

MAX_LINES = 3
MIN_ROOM = 24  # cells after the caret worth starting the message in; fewer: under it


def wrap_words(text: str, first: int, rest: int) -> list[str]:
    """`text` in lines of at most `first` cells, then `rest`, cut between words (a word longer
    than a line is cut in it)."""
    lines: list[str] = []
    line = ""

    def room() -> int:
        return max(1, first if not lines else rest)

    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= room():
            line = candidate
            continue
        if line:
            lines.append(line)
        while cell_len(word) > room():  # a word wider than a line: cut where the line ends
            head = _head(word, room())
            lines.append(head)
            word = word[len(head) :]
        line = word
    if line or not lines:
        lines.append(line)
    return lines


def _head(word: str, width: int) -> str:
    cells = 0
    for index, char in enumerate(word):
        cells += cell_len(char)
        if cells > width:
            return word[:index] or word[:1]
    return word


def filter_error_text(
    message: str,
    position: int,
    caret: int | None,
    width: int,
    *,
    indent: int = 1,
    max_lines: int = MAX_LINES,
) -> Text:
    """The error's lines for a bar `width` cells wide. `message` is safe text already;
    `position` the 0-based character at fault; `caret` the screen column under it, None when it
    is not on screen; `indent` where the Input's text starts (its padding)."""
    width = max(indent + 2, width)
    rest = width - indent
    leads: list[str]
    if caret is None:  # scrolled out of view: say where
        parts = wrap_words(f"at character {position + 1}: {message}", rest, rest)
        leads = [" " * indent] * len(parts)
    else:
        mark = " " * caret + "^"
        room = width - cell_len(mark) - 1
        if cell_len(message) <= room or room >= MIN_ROOM:  # the message after the caret
            parts = wrap_words(message, room, rest)
            leads = [mark + " "] + [" " * indent] * (len(parts) - 1)
        else:  # too little room there: the caret alone, the message under it
            parts = ["", *wrap_words(message, rest, rest)]
            leads = [mark] + [" " * indent] * (len(parts) - 1)
    if len(parts) > max_lines:
        parts, leads = parts[:max_lines], leads[:max_lines]
        parts[-1] = cut_cells(parts[-1] + ELLIPSIS, width - cell_len(leads[-1]))
    out = Text(style="bold red", no_wrap=True, overflow="ellipsis")
    for index, (lead, part) in enumerate(zip(leads, parts, strict=True)):
        if index:
            out.append("\n")
        out.append(lead)  # the caret in the text's own style (bold red)
        out.append(part, style="red")
    return out
