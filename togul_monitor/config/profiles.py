"""Connection profiles: reading `profiles.toml` and the store that writes it.

The data types live in entry.py (`Profile` is re-exported here, where most callers import it
from); what an edit changes in profile_changes.py (`ProfileChanges`, re-exported here too); the
checks in validate.py; the choice of a command's target in resolve.py.

The store reads `profiles.toml` (tomlread.py) and validates it strictly (validate.py). Writes
go through tomlkit, section by section (tomledit.py), so the user's comments and key order
survive; each write holds an inter-process lock, re-reads the file under it, and replaces the
file atomically with mode 0600. A file that does not parse or validate is never written: the
write is refused with a hint on how to recover.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from togul_monitor.config import paths
from togul_monitor.config.entry import Profile, ProfileEntry, ProfilesConfig
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profile_changes import ProfileChanges, toml_table
from togul_monitor.config.tomlread import decode_text, parse_toml
from togul_monitor.config.validate import (
    BUILTIN_NAMES,
    check_name,
    did_you_mean,
    validate_document,
    validate_profile,
)
from togul_monitor.support.files import atomic_write, file_lock

if TYPE_CHECKING:
    # Writing only (tomlkit behind it): imported where a file is written, not by every reader.
    from togul_monitor.config.tomledit import Sections

__all__ = [
    "RECOVERY_HINT",
    "Profile",
    "ProfileChanged",
    "ProfileChanges",
    "ProfileEntry",
    "ProfileStore",
    "ProfilesConfig",
    "load_config",
    "load_keymap",
    "parse_document",
]


# --- reading --------------------------------------------------------------------------------

RECOVERY_HINT = (
    "nothing was written; fix the file by hand, or move it aside to start afresh "
    "(`togul-monitor profiles path` shows where it is)"
)


def _read_text(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=path) from None
    return decode_text(raw, path)


def _write(path: Path, data: bytes) -> None:
    """`atomic_write`, its failures as a ConfigError naming the file. A symbolic link whose
    target's folder does not exist yet (a dotfiles link not checked out) reads as no file, so
    only the write finds out: say where the link leads, the file left as it was."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.parent.is_dir():
                why = f"it is a symbolic link to {target}, whose folder does not exist"
        raise ConfigError(f"cannot write the file: {why}", file=path) from None


def parse_document(text: str, path: Path) -> ProfilesConfig:
    """The text of `profiles.toml` (at `path`, named in errors) parsed and validated."""
    return validate_document(parse_toml(text, path), file=path, text=text)


def _load(path: Path) -> tuple[str | None, ProfilesConfig]:
    text = _read_text(path)
    if text is None:
        return None, ProfilesConfig(path=path, exists=False)
    return text, parse_document(text, path)


def load_config(path: Path | None = None) -> ProfilesConfig:
    """The validated contents of `profiles.toml` (empty, `exists=False`, when there is none)."""
    return _load(path or paths.profiles_file())[1]


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The `[keymap]` table of `profiles.toml`: binding id -> key string (for the TUI)."""
    return dict(load_config(path).keymap)


# --- the store ------------------------------------------------------------------------------


class ProfileStore:
    """Reads and writes one `profiles.toml` (the default location unless `path` is given)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or paths.profiles_file()

    def load(self) -> ProfilesConfig:
        return load_config(self.path)

    def add(self, entry: ProfileEntry, *, make_default: bool = False) -> ProfilesConfig:
        """Add a new profile; an existing name is an error (use `edit`)."""
        problem = check_name(entry.name)
        if problem:
            raise ConfigError(problem, profile=entry.name)
        table = entry.to_table()
        validate_profile(entry.name, table)  # precise errors before touching the file

        def change(data: dict[str, Any], sections: Sections | None, doc: Any) -> None:
            profiles = data.setdefault("profiles", {})
            if entry.name in profiles:
                raise ConfigError(
                    "a profile of this name exists already",
                    file=self.path,
                    profile=entry.name,
                    hint=f"use `togul-monitor profiles edit {entry.name}` to change it",
                )
            profiles[entry.name] = copy.deepcopy(table)
            if make_default:
                data["default_profile"] = entry.name
            if sections is not None:
                sections.add_profile(entry.name, toml_table(table))
                if make_default:
                    sections.set_top_level("default_profile", entry.name)
            else:
                import tomlkit

                if "profiles" not in doc:
                    doc.add("profiles", tomlkit.table(is_super_table=True))
                doc["profiles"][entry.name] = toml_table(table)
                if make_default:
                    doc["default_profile"] = entry.name

        return self._modify(change)

    def edit(
        self,
        name: str,
        changes: ProfileChanges,
        *,
        check: Callable[[Any], None] | None = None,
    ) -> ProfilesConfig:
        """Apply `changes` to profile `name`; `check` sees its table as the file holds it
        (under the lock) first, and may refuse the edit by raising."""

        def change(data: dict[str, Any], sections: Sections | None, doc: Any) -> None:
            profiles = data.get("profiles", {})
            if check is not None:
                check(profiles.get(name))
            if name not in profiles:
                raise self._unknown(name, profiles)
            self._check_removals(name, profiles[name], changes)
            changes.apply(profiles[name], toml=False)
            validate_profile(name, profiles[name])  # precise errors before touching the file
            if sections is not None:
                for context in changes.remove_contexts:  # a sub-table goes with its comment
                    sections.remove_table(("profiles", name, "contexts", context))
                if not sections.edit_profile(name, lambda t: changes.apply(t, toml=True)):
                    raise _Fallback
            else:
                changes.apply(doc["profiles"][name], toml=True)

        return self._modify(change)

    def remove(self, name: str) -> ProfilesConfig:
        """Remove a profile (and `default_profile` when it named it)."""

        def change(data: dict[str, Any], sections: Sections | None, doc: Any) -> None:
            profiles = data.get("profiles", {})
            if name not in profiles:
                raise self._unknown(name, profiles)
            del profiles[name]
            unset_default = data.get("default_profile") == name
            if unset_default:
                del data["default_profile"]
            if sections is not None:
                sections.remove_profile(name)
                if unset_default:
                    sections.set_top_level("default_profile", None)
            else:
                del doc["profiles"][name]
                if unset_default:
                    del doc["default_profile"]

        return self._modify(change)

    def store_tokens(
        self,
        name: str,
        *,
        token: str | None = None,
        refresh_token: str | None = None,
        expect: Mapping[str, str] | None = None,
    ) -> ProfilesConfig:
        """Write a token and/or a refresh token into profile `name` as literals (login, and a
        rotated pair): comments kept, atomic, mode 0600, like every edit.

        `expect` (key -> value): write only if the profile still holds exactly these values,
        checked under the lock, so a renewed pair never lands in a profile removed and made
        again for another server, or one whose secrets were moved to variables meanwhile;
        else ProfileChanged, the file untouched."""
        changes = ProfileChanges(token=token, refresh_token=refresh_token)
        if expect is None:
            return self.edit(name, changes)

        def check(table: Any) -> None:
            if not isinstance(table, Mapping) or any(
                table.get(key) != value for key, value in expect.items()
            ):
                raise ProfileChanged(
                    "the profile is no longer the one the token came from",
                    file=self.path,
                    profile=name,
                )

        return self.edit(name, changes, check=check)

    def set_default(self, name: str) -> ProfilesConfig:
        def change(data: dict[str, Any], sections: Sections | None, doc: Any) -> None:
            profiles = data.get("profiles", {})
            if name not in profiles and name not in BUILTIN_NAMES:
                raise self._unknown(name, profiles)
            data["default_profile"] = name
            if sections is not None:
                sections.set_top_level("default_profile", name)
            else:
                doc["default_profile"] = name

        return self._modify(change)

    def set_time_mode(self, mode: str) -> ProfilesConfig:
        """The TUI's time mode (`t`), as the top-level `time_mode` (validated on write)."""

        def change(data: dict[str, Any], sections: Sections | None, doc: Any) -> None:
            data["time_mode"] = mode
            if sections is not None:
                sections.set_top_level("time_mode", mode)
            else:
                doc["time_mode"] = mode

        return self._modify(change)

    def _check_removals(self, name: str, table: Any, changes: ProfileChanges) -> None:
        """Removing a context the profile does not have is a mistake (a typo), not a no-op."""
        contexts = table.get("contexts", {}) if isinstance(table, Mapping) else {}
        for context in changes.remove_contexts:
            if not isinstance(contexts, Mapping) or context not in contexts:
                known = list(contexts) if isinstance(contexts, Mapping) else []
                raise ConfigError(
                    f"no context named {context!r}{did_you_mean(context, known)}",
                    file=self.path,
                    profile=name,
                    key="contexts",
                    hint=f"`togul-monitor profiles show {name}` lists its contexts",
                )

    def _unknown(self, name: str, profiles: Mapping[str, Any]) -> ConfigError:
        known = [*profiles, *BUILTIN_NAMES]
        return ConfigError(
            f"no profile named {name!r}{did_you_mean(name, known)}",
            file=self.path,
            hint="`togul-monitor profiles list` shows the profiles",
        )

    def _modify(
        self, change: Callable[[dict[str, Any], Sections | None, Any], None]
    ) -> ProfilesConfig:
        """Under the lock: re-read, refuse a bad file, apply `change`, verify, write atomically."""
        from togul_monitor.config.tomledit import Sections

        path = self.path
        with file_lock(path):
            try:
                text, _ = _load(path)
            except ConfigError as exc:
                raise ConfigError(
                    exc.message,
                    file=exc.file,
                    profile=exc.profile,
                    key=exc.key,
                    line=exc.line,
                    hint=RECOVERY_HINT,
                ) from None
            text = text or ""
            newline = "\r\n" if "\r\n" in text else "\n"  # keep the file's line endings
            new_text: str | None = None
            try:
                expected = tomllib.loads(text)
                sections = Sections(text)
                change(expected, sections, None)
                candidate = _finish(sections.text(), newline)
                if _same(tomllib.loads(candidate), expected):
                    new_text = candidate
            except (_Fallback, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError):
                pass
            if new_text is None:
                new_text = self._whole_document(text, change, newline)
            config = validate_document(tomllib.loads(new_text), file=path, text=new_text)
            _write(path, _file_bytes(new_text, path))
            return config

    def _whole_document(
        self,
        text: str,
        change: Callable[[dict[str, Any], Sections | None, Any], None],
        newline: str,
    ) -> str:
        """The section splice did not give the expected data: edit the whole document."""
        import tomlkit

        expected = tomllib.loads(text)
        try:
            doc = tomlkit.parse(text)
            change(expected, None, doc)
            if "profiles" in doc and not doc["profiles"]:
                del doc["profiles"]
            new_text = _finish(tomlkit.dumps(doc), newline)
            if _same(tomllib.loads(new_text), expected):
                return new_text
        except ConfigError:
            raise
        except Exception:  # noqa: BLE001 - any failure here means: do not write
            pass
        raise ConfigError(
            "could not apply this change to the file's layout safely; nothing was written",
            file=self.path,
            hint="make the change by hand in the file",
        )


def _finish(text: str, newline: str) -> str:
    """One line-ending style throughout, and a final newline."""
    if text and not text.endswith("\n"):
        text += "\n"
    if newline == "\r\n":
        text = re.sub(r"(?<!\r)\n", "\r\n", text)
    return text


def _same(actual: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Equal data, an empty `profiles` table counting as none."""

    def normal(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (k == "profiles" and v == {})}

    return normal(actual) == normal(expected)


class ProfileChanged(ConfigError):
    """A conditional write (`store_tokens(expect=...)`) found the profile changed: not written."""


class _Fallback(Exception):
    """The section editor cannot do this edit: use the whole-document path."""


def _file_bytes(text: str, path: Path) -> bytes:
    """`text` as the file's UTF-8; a ConfigError when a value given holds what is not text (a
    command-line byte that is not UTF-8 arrives as a lone surrogate), the file left as it was."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            "a value given holds a character that is not text (a byte that is not UTF-8, or a"
            " lone surrogate): nothing was written",
            file=path,
        ) from None
