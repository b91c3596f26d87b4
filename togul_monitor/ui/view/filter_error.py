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
from togul_monitor.ui.view.words import wrap_words

MAX_LINES = 3
MIN_ROOM = 24  # cells after the caret worth starting the message in; fewer: under it


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
        parts = _wrap(f"at character {position + 1}: {message}", rest)
        leads = [" " * indent] * len(parts)
    else:
        mark = " " * caret + "^"
        room = width - cell_len(mark) - 1
        if cell_len(message) <= room or room >= MIN_ROOM:  # the message after the caret
            parts = _wrap(message, rest, first=room)
            leads = [mark + " "] + [" " * indent] * (len(parts) - 1)
        else:  # too little room there: the caret alone, the message under it
            parts = ["", *_wrap(message, rest)]
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


def _wrap(message: str, width: int, first: int = 0) -> list[str]:
    # A long word (a quoted term) goes on over the lines: the whole of it is worth reading.
    return wrap_words(message, width, first=first, split_long=True) or [""]
