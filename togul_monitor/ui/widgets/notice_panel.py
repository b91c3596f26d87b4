"""A panel that states a problem plainly instead of an empty or silently broken screen.

Used for rejected credentials (with the key that opens the profile editor) and for a profile
that could not be started. The text is assembled from plain `Text`, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from togul_monitor.text import safe_text


class NoticePanel(Static):
    DEFAULT_CSS = """
    NoticePanel {
        display: none; height: auto; margin: 0 1; padding: 0 1;
        border: heavy $error; background: $error 10%;
    }
    NoticePanel.-shown { display: block; }
    """

    kind: str | None = None

    def show_notice(self, kind: str, title: str, body: str, hint: str) -> None:
        self.kind = kind
        text = Text(safe_text(title), style="bold")
        text.append("\n")
        text.append(safe_text(body))
        text.append("\n")
        text.append(hint, style="italic")
        self.update(text)
        self.add_class("-shown")

    def hide_notice(self, kind: str | None = None) -> None:
        if kind is None or kind == self.kind:
            self.kind = None
            self.remove_class("-shown")
