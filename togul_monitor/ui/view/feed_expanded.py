"""The selected feed row whole (`full_text`), and wrapped under the row (`expanded_lines`): a
row cut to the pane's width (view/feed_layout.py) is shown uncut once selected."""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import cell_len
from rich.text import Text

from togul_monitor.domain.events import FlagEvent
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import whole
from togul_monitor.ui.view.feed_layout import (
    MARKER_STYLES,
    environment_label,
    found_label,
    row_change,
)
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.found import NOTE, FoundChange, change_parts
from togul_monitor.ui.view.rows import FeedItem, Row

EXPANDED_MAX = 4  # lines under the selected row; `enter` shows everything
EXPAND_INDENT = 9  # under the type column


def full_text(item: Row, names: Mapping[str, str] | None, store: FeedStore) -> Text:
    """Everything the row stands for, uncut: `↳ key · environment · v3: before → after`."""
    if isinstance(item, FoundChange):
        text = Text.assemble(("↳ ", "dim"))
        text.append(safe_text(item.flag_key), style="bold")
        label = found_label(store, names, item)
        if label:
            text.append(" · ", style="dim")
            text.append(label)
        text.append(": ", style="dim")
        text.append_text(whole(change_parts(item)))
        text.append(f" · {NOTE}, no event of its own", style="dim")
        return text
    if isinstance(item, FeedItem):
        return Text("↳ " + safe_text(item.text), style=MARKER_STYLES.get(item.marker, ""))
    event: FlagEvent = item
    text = Text.assemble(("↳ ", "dim"))
    text.append(safe_text(event.flag_key), style="bold")
    text.append(" · ", style="dim")
    text.append(environment_label(event.environment_id, names))
    text.append(f" · v{event.version}: ", style="dim")
    long, _ = row_change(event, store)
    text.append_text(whole(long))
    return text


def expanded_lines(
    item: Row, width: int, names: Mapping[str, str] | None, store: FeedStore
) -> list[Text]:
    """The selected row whole, wrapped under it (at most EXPANDED_MAX lines, then `…`)."""
    room = width - EXPAND_INDENT
    if room < 8:
        return []
    text = full_text(item, names, store)
    lines: list[Text] = []
    start = cells = 0
    plain = text.plain
    index = 0
    while index < len(plain):
        size = cell_len(plain[index])
        if cells + size > room:
            # At the last space of the line when it is in its second half, else where it is full.
            space = plain.rfind(" ", start, index)
            end = space + 1 if space > start + room // 2 else index
            lines.append(text[start:end])  # the space stays at the end: lines join back
            start, cells, index = end, 0, end
            continue
        cells += size
        index += 1
    lines.append(text[start:])
    if len(lines) > EXPANDED_MAX:
        lines = lines[:EXPANDED_MAX]
        last = lines[-1]
        more = " … enter: all"
        lines[-1] = last[: max(0, len(last.plain) - len(more))]
        lines[-1].append(more, style="dim")
    pad = " " * EXPAND_INDENT
    return [Text(pad).append_text(line) for line in lines]
