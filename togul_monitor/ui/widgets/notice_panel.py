"""A panel that states a problem plainly instead of an empty or silently broken screen.

Used for rejected credentials (with the key that opens the profile editor) and for a profile
that could not be started. The text is assembled from plain `Text`, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from togul_monitor.support.text import safe_text


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
        text = Text()  # the title bold, not the body and the hint (a Text's own style is theirs)
        text.append(safe_text(title), style="bold")
        text.append("\n")
        # Line by line: a hint on a line of its own (ConfigError) stays a line, not `\x0a`.
        text.append("\n".join(safe_text(line) for line in body.splitlines()))
        text.append("\n")
        text.append(hint, style="italic")
        self.update(text)
        self.add_class("-shown")

    def hide_notice(self, kind: str | None = None) -> None:
        if kind is None or kind == self.kind:
            self.kind = None
            self.remove_class("-shown")

    def show_credentials(
        self, profile_name: str, detail: str, edit_key: str, switch_key: str, retry_key: str
    ) -> None:
        """401/403: nothing is retried by itself, so say how to fix it and how to try again."""
        self.show_notice(
            "credentials",
            f"Credentials rejected for profile {profile_name}",
            f"{detail}. Nothing is retried until you ask ({retry_key}) or the profile changes.",
            f"{edit_key}: edit this profile · {switch_key}: switch profile · "
            f"{retry_key}: try again",
        )

    def show_failed(
        self, profile_name: str, error: str, switch_key: str, edit_key: str, quit_key: str
    ) -> None:
        self.show_notice(
            "failed",
            f"Profile {profile_name} could not be opened",
            error,
            f"{switch_key}: choose another profile · {edit_key}: edit this profile · "
            f"{quit_key}: quit",
        )
