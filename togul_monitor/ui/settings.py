"""What the TUI keeps in `profiles.toml` between runs: the time mode (`t`, the top-level
`time_mode`) and each profile's watch list (`w`), and where `y` leaves a copy of what it copied.

Everything here blocks (a file read, a locked rewrite of the file) and runs on thread workers.
Writes go through the config layer's store (`config/profiles.py`): comments kept, atomic, and a
file that does not parse or validate is never written (the error says why). The demo's
profiles are built in, and a profile given on the command line or by variables has no file:
their watch list stays in memory for the run (`saves_watch` says which).

Saves run one at a time and each writes the state as it is when it runs, not as it was when
the key was pressed, so the last save to run leaves the file as the screen shows it however the
workers of quick presses interleave.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from togul_monitor.config.profiles import Profile

log = logging.getLogger(__name__)

CLIP_FILENAME = "clipboard.txt"

_SAVING = threading.Lock()


def load_time_mode() -> str | None:
    """The saved time mode; None when unset, or when the file cannot be read (logged: the
    profile switcher reports a broken file)."""
    from togul_monitor.config.profiles import load_config

    try:
        return load_config().time_mode
    except Exception as error:  # a bad file must not stop the app: the default applies
        log.warning("time_mode ignored: %s", error)
        return None


def save_time_mode(current: Callable[[], str]) -> None:
    """Write the time mode in force now (ConfigError when the file cannot take it)."""
    from togul_monitor.config.profiles import ProfileStore

    with _SAVING:
        ProfileStore().set_time_mode(current())


def saves_watch(profile: Profile) -> bool:
    """Whether `w` is written to a file for `profile` (not for the demo or an ad hoc one)."""
    return not profile.builtin and profile.source_file is not None


def save_watch(profile: Profile, flag_key: str, watched: Callable[[], bool]) -> None:
    """Add `flag_key` to the profile's `watch` list, or remove it, as `watched()` says now."""
    from togul_monitor.config.profiles import ProfileChanges, ProfileStore

    with _SAVING:
        if watched():
            changes = ProfileChanges(watch=(flag_key,))
        else:
            changes = ProfileChanges(unwatch=(flag_key,))
        ProfileStore(profile.source_file).edit(profile.name, changes)


def clip_path() -> Path:
    """`<data dir>/clipboard.txt`: what `y` copied last, for terminals that ignore OSC 52."""
    from togul_monitor.config.paths import data_dir

    return data_dir() / CLIP_FILENAME


def write_clip(text: str) -> Path:
    from togul_monitor.support.files import atomic_write

    path = clip_path()
    atomic_write(path, text.encode("utf-8"), mode=0o600)  # values may be private
    return path
