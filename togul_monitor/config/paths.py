"""Where togul-monitor keeps its files (`togul-monitor profiles path` prints them; README.md).

By default the platformdirs locations for the app name `togul-monitor`. When the environment
variable `TOGUL_MONITOR_HOME` is set, everything lives flat under that one folder (tests use
it, and it makes a portable setup easy): `profiles.toml`, `journal/`, `togul-monitor.log`.

Functions, not constants: the variable is read on every call, so a test or a wrapper script
that sets it late still gets the right place.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "togul-monitor"
HOME_VARIABLE = "TOGUL_MONITOR_HOME"
PROFILES_FILENAME = "profiles.toml"
LOG_FILENAME = "togul-monitor.log"


def _home() -> Path | None:
    value = os.environ.get(HOME_VARIABLE)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = _home()
    return home if home is not None else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    home = _home()
    return home if home is not None else Path(platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    home = _home()
    return home if home is not None else Path(platformdirs.user_log_dir(APP_NAME))


def profiles_file() -> Path:
    return config_dir() / PROFILES_FILENAME


def journal_dir() -> Path:
    return data_dir() / "journal"


def log_file() -> Path:
    return log_dir() / LOG_FILENAME
