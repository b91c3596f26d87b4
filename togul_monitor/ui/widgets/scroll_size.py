"""Whether a new virtual size of a scrolling widget changes the screen's layout.

Textual lays the whole screen out again at every change of a widget's `virtual_size`: a reflow
of every widget, then a repaint of each one it touched, 20–50 ms on a loaded 2-core machine,
which holds the loop (keys, the feed's next paint) meanwhile. A widget whose size its container
sets (not `height: auto`) keeps its place whatever it holds: its new virtual size changes the
layout only when its width changes or its vertical scrollbar comes or goes. Otherwise the new
height only moves the scrollbar's thumb (`Widget._scroll_update`). A pane whose height changes
often (the history pane, drawn anew for each flag selected) keeps its scrollbar (`overflow-y:
scroll`) and its width, and is never laid out again for what it holds.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


def keeps_layout(widget: Widget, old: Size, new: Size) -> bool:
    """`widget`'s virtual size going from `old` to `new` leaves the layout as it is."""
    height = widget.styles.height
    if height is None or height.is_auto:
        return False  # sized by what it holds (auto), or no height set here: laid out
    if old.width != new.width:
        return False
    if widget.styles.overflow_y != "auto":
        return True  # the scrollbar is there (`scroll`) or never (`hidden`), whatever it holds
    window = widget.container_size.height - widget.scrollbar_size_horizontal
    return (old.height > window) == (new.height > window)
