"""The one error type of the configuration stage.

A ConfigError is a usage or configuration problem: every command reports it the same way and
exits 2 (README.md; cli/common.py). Its message names where the problem is (file, profile, key,
line) so the user can fix it without guessing, and it never contains a secret: callers pass
names and masked values only.
"""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """A configuration or usage error: printed as is, then the command exits with `exit_code`."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        profile: str | None = None,
        key: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = Path(file) if file is not None else None
        self.profile = profile
        self.key = key
        self.line = line
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        """`profiles.toml:12: profile 'prod', key 'base_url': message (hint)`."""
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        subject = []
        if self.profile is not None:
            subject.append(f"profile {self.profile!r}")
        if self.key is not None:
            subject.append(f"key {self.key!r}")
        about = ", ".join(subject)
        text = f"{where}{about}: {self.message}" if about else f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.format()
