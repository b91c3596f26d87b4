"""The Textual TUI. The only package that imports Textual (docs/architecture.md, the layers).

Textual repaints the screen at the next of its frame slots, at most `TEXTUAL_FPS` a second (60
unless set). A key's repaint waits for that slot: up to 17 ms at 60, a third of the time a key
takes to show under a burst. At 120 the wait halves, and the number of repaints does not grow
(the monitor's updates are painted at most 40 times a second, ui/view/pace.py; a repaint happens
only when something changed). A `TEXTUAL_FPS` of the user's own wins. Set here, before anything
imports Textual: it reads the setting once, when it is first imported.
"""

import os

os.environ.setdefault("TEXTUAL_FPS", "120")
