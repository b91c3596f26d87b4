"""The log file, and never any secret in it.

Everything the package (and the libraries it runs: uvicorn, httpx) logs goes to one small
rotating file and nowhere else: the TUI owns the terminal, and `tail --json` owns stdout. A
filter on the handler masks every secret the run holds, by value, and anything shaped like a
Togul key or a JWT, so even a careless `log.info("%s", profile.api_key)`, a traceback quoting a
header or a server's message quoting a key of any shape writes only the masked form.

The caller names the file (the command line passes `config.paths.log_file()`): support sits below
the configuration stage and must not import it to learn where files live.

Every log file is mode 0600, the live one and its rotated copies alike: a masked secret is still
a hint, and the log says which servers and flags are watched. The handler creates each new file
private itself (a rotation opens a fresh one under the umask otherwise), and set-up tightens files
an older version left readable.

A log file that cannot be written (a full disk) never floods the terminal: logging's default
prints a traceback on stderr for every record that fails, thousands a minute under a busy
recorder. The handler says it once instead, one line naming the file and the error (through
`report_log_failures`' reporter: `record` makes it one of its own log lines), and stays quiet
until a record is written again.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from togul_monitor.support.known_secrets import scrub
from togul_monitor.support.text import KNOWN_PREFIX, mask_secret

MAX_BYTES = 1_000_000
BACKUP_COUNT = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OURS = "_togul_monitor_log"

# Togul keys and refresh tokens (the prefixes `mask_secret` keeps: tgl_srv_, tgl_sdk_, tgl_str_,
# tgl_rt_ + token characters) and JWTs (three base64url parts, the header always starts with
# `{"` = `eyJ`).
_SECRET = re.compile(
    KNOWN_PREFIX + r"[A-Za-z0-9_\-]+"
    r"|eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"
)


def mask_secrets_in(text: str) -> str:
    """`text` with every secret the run holds (support/known_secrets.py, by value: a key of
    any shape), then every Togul key and JWT, replaced by its masked form."""
    return _SECRET.sub(lambda match: mask_secret(match.group()), scrub(text))


class SecretMaskingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack so no secret survives formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format in someone's log call: keep what can be kept
            message = f"{record.msg!r} {record.args!r}"
        record.msg = mask_secrets_in(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatted here so the formatter uses the masked text instead of re-formatting.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets_in(record.stack_info)
        return True


#: Told (the log file's path, the error) when the log file stops taking records.
LogFailureReporter = Callable[[str, str], None]


def _say_on_stderr(path: str, error: str) -> None:
    # sys.stderr as it is now: under the TUI, Textual's capture, never the screen.
    with contextlib.suppress(Exception):
        sys.stderr.write(f"togul-monitor: cannot write the log file {path}: {error}\n")
        sys.stderr.flush()


_reporter: LogFailureReporter = _say_on_stderr


def report_log_failures(reporter: LogFailureReporter | None) -> None:
    """Who says that the log file cannot be written (None: a plain line on stderr)."""
    global _reporter
    _reporter = reporter or _say_on_stderr


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose every file (the first, and each one a rotation starts) is
    mode 0600 from the moment it exists, and which reports a record it cannot write once per
    run of failures, never with a traceback (the module docstring)."""

    _failing = False  # the last record failed: the failure has been reported
    _failed_now = False  # the record being emitted failed

    def emit(self, record: logging.LogRecord) -> None:
        # Called with the handler's lock held (`Handler.handle`): the flags need no other.
        self._failed_now = False
        super().emit(record)
        if not self._failed_now:
            self._failing = False  # written: the next failure is news again

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self._failed_now = True
        if self._failing:
            return
        self._failing = True
        error = sys.exc_info()[1]
        text = str(error) if isinstance(error, OSError) else repr(error)
        with contextlib.suppress(Exception):  # reporting must not fail the caller's log call
            _reporter(self.baseFilename, text)

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode applies to a new file only
            return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: SIM115
        except BaseException:
            os.close(fd)
            raise


def _make_private(path: Path) -> None:
    """The log file and its rotated copies (`<name>.1` …) left readable by an older version."""
    rotated = (path.with_name(f"{path.name}.{n}") for n in range(1, BACKUP_COUNT + 1))
    for candidate in (path, *rotated):
        with contextlib.suppress(OSError):
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)


def _remove_terminal_handlers(logger: logging.Logger) -> None:
    """Drop handlers that print to the terminal (a stray `basicConfig`); keep any other stream
    handler, such as a test harness capturing records in memory."""
    terminal = {id(stream) for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)}
    for handler in list(logger.handlers):
        if isinstance(handler, logging.StreamHandler) and id(handler.stream) in terminal:
            logger.removeHandler(handler)


def setup_logging(path: Path, verbose: bool = False) -> Path:
    """Send all logging to the file `path` (INFO, or DEBUG with `verbose`); returns `path`.

    Safe to call more than once (tests invoke the CLI many times in one process, each time
    with another TOGUL_MONITOR_HOME): the previous file handler is closed and replaced. A log
    directory that cannot be created never stops the program: logging then goes nowhere.
    """
    root = logging.getLogger()
    for previous in list(root.handlers):
        if getattr(previous, _OURS, False):
            root.removeHandler(previous)
            previous.close()
    _remove_terminal_handlers(root)
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _make_private(path)
        handler = PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=False
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretMaskingFilter())
    setattr(handler, _OURS, True)  # so a second call replaces it instead of adding another
    root.addHandler(handler)
    level = logging.DEBUG if verbose else logging.INFO
    if root.level == logging.NOTSET or root.level > level:  # never quieter than a host asked
        root.setLevel(level)
    # httpx logs every request at INFO: one line per evaluate call would crowd out the rest.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Without this, records that reach no handler are printed to stderr by logging's last
    # resort: never onto the TUI's screen.
    logging.lastResort = None
    return path
