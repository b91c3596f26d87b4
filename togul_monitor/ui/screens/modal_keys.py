"""What the screens opened over the main one (the inventory `i`, the environment matrix `c`, its
side-by-side diff, the coverage `o`, the profile switcher `p`, a values row's values `enter`, a
feed row's detail `enter`, the jump finder `g`, the profile form) share: the keys every such
screen answers alike, and a footer of their own.

A modal screen cuts Textual's binding chain at itself: the app's `q` and `?` would do nothing
there, while the main screen's footer, still visible under the screen, lists keys (filter, pause,
watch...) that do nothing either. So each of them binds `esc`/`q` to close (as the help, the
detail and the profile switcher do) and the help's keys to open the help over it, and docks its
own footer over the main one, listing its own keys. The help opened over one lists that
screen's keys (`help.py`, `screen_help_rows`): its bindings with their tooltips, and the keys its
widgets answer, which no binding names (`enter` on a list), from its `OTHER_KEYS`.

A screen whose focus is a text box (the jump finder, the profile form) closes on `esc` alone and
opens the help on `f1` alone: the box takes a printable key (`q`, `?`, or one a `[keymap]` gives
the help) as text before any binding sees it, so a footer saying `?` would lie there.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType
from textual.widgets import Footer

from togul_monitor.ui.keymap import DEFAULT_KEYS

CLOSE_KEYS = "escape,q"
TYPING_HELP_KEY = "f1"  # no text box types it


def close_and_help(
    close_id: str, action: str = "dismiss", close_tip: str = "Close this screen"
) -> list[BindingType]:
    """`esc`/`q` run `action` (closing the screen); the help's keys open the help. The help
    binding keeps the main screen's id, so a `[keymap]` remap of `help` applies here too."""
    return [Binding(CLOSE_KEYS, action, "Close", tooltip=close_tip, id=close_id), help_binding()]


def help_binding(*, typing: bool = False) -> Binding:
    """The help's keys (`typing`: on a screen of text boxes, `f1` alone, an id of its own that
    no `[keymap]` remaps to a key the boxes would type)."""
    help_keys, help_action, help_label, _show, _tip = DEFAULT_KEYS["help"]
    if typing:
        return Binding(TYPING_HELP_KEY, help_action, help_label, tooltip=HELP_TIP, id="help_f1")
    return Binding(help_keys, help_action, help_label, tooltip=HELP_TIP, id="help")


HELP_TIP = "Help: the keys of this screen"


def modal_footer() -> Footer:
    """The screen's own keys, over the main screen's footer (the palette's key is not one of
    them: the palette lists the main screen's commands)."""
    return Footer(show_command_palette=False)
