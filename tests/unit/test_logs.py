"""The log file: under TOGUL_MONITOR_HOME, everything logged, no secret unmasked."""

from __future__ import annotations

import errno
import io
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.config.paths import log_file
from togul_monitor.support.logs import (
    PrivateRotatingFileHandler,
    mask_secrets_in,
    report_log_failures,
    setup_logging,
)

SDK_KEY = "tgl_sdk_0123456789abcdefABCDEF9f2c"
STREAM_KEY = "tgl_str_zyxwvutsrqponmlkjihg7a1b"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyIiwib3JnIjoiYWNtZSJ9."
    "uIInf22QLKTEPHxBe34agm3ch4KE2VgzuIRFOQfaqBs"
)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level, last_resort = list(root.handlers), root.level, logging.lastResort
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.lastResort = last_resort


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_cli_creates_the_log_file_under_home(isolated_home: Path, restore_logging: None) -> None:
    result = CliRunner().invoke(cli, ["profiles", "path"])
    assert result.exit_code == 0, result.output
    log = isolated_home / "togul-monitor.log"
    assert log.is_file()
    assert (log.stat().st_mode & 0o777) == 0o600
    logging.getLogger("togul_monitor.core.monitor").warning("a note from the monitor")
    _flush()
    assert "WARNING togul_monitor.core.monitor: a note from the monitor" in log.read_text()


def test_secrets_logged_by_any_module_are_masked(
    isolated_home: Path, restore_logging: None
) -> None:
    path = setup_logging(log_file())
    assert path == isolated_home / "togul-monitor.log"
    logging.getLogger("togul_monitor.client.stream").info("connecting with %s", SDK_KEY)
    logging.getLogger("httpx").warning(f"headers: X-API-Key: {STREAM_KEY}")
    logging.getLogger("some.library").error("Authorization: Bearer %s", JWT)
    try:
        raise RuntimeError(f"rejected {SDK_KEY}")
    except RuntimeError:
        logging.getLogger("togul_monitor.core.monitor").exception("stopped")
    _flush()
    text = path.read_text()
    for secret in (SDK_KEY, STREAM_KEY, JWT, JWT.split(".")[1], SDK_KEY[8:]):
        assert secret not in text
    assert "connecting with tgl_sdk_…9f2c" in text
    assert "X-API-Key: tgl_str_…7a1b" in text
    assert "Bearer …aqBs" in text
    assert "RuntimeError: rejected tgl_sdk_…9f2c" in text


def test_no_handler_writes_to_the_terminal(isolated_home: Path, restore_logging: None) -> None:
    logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))  # a stray basicConfig
    setup_logging(log_file())
    setup_logging(log_file())  # idempotent: one file handler, not two
    handlers = logging.getLogger().handlers
    terminal = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    assert not any(getattr(h, "stream", None) in terminal for h in handlers)
    assert sum(getattr(h, "_togul_monitor_log", False) for h in handlers) == 1
    assert logging.lastResort is None


def test_mask_secrets_in_leaves_ordinary_text_alone() -> None:
    # (Not `not-a-token`: another test's profile holds that as its token, a secret of the run.)
    assert mask_secrets_in("flag checkout-v2 eyJ-plain-words tgl_xyz_abc") == (
        "flag checkout-v2 eyJ-plain-words tgl_xyz_abc"
    )
    assert mask_secrets_in(f"[{SDK_KEY}]") == "[tgl_sdk_…9f2c]"


def test_every_log_file_is_private_after_rotation_too(
    tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: only the first file was chmod 0600; each rotation opened a new one under the
    # umask (0644 here), readable by every local user.
    from togul_monitor.support import logs

    path = tmp_path / "logs" / "togul-monitor.log"
    path.parent.mkdir()
    stale = path.with_name(path.name + ".2")
    stale.write_text("left by an older version\n")
    stale.chmod(0o644)
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    old_umask = os.umask(0o022)
    try:
        setup_logging(path)
        for n in range(40):  # 40 × ~150 bytes: three rotations
            logging.getLogger("togul_monitor.test").warning("line %d %s", n, "x" * 100)
        _flush()
    finally:
        os.umask(old_umask)
    files = sorted(path.parent.iterdir())
    assert [f.name for f in files] == [path.name, *(f"{path.name}.{n}" for n in (1, 2, 3))]
    assert {f.name: f.stat().st_mode & 0o777 for f in files} == {f.name: 0o600 for f in files}


class _Disk(io.StringIO):
    """A log file's stream whose writes fail as they do on a full disk while `full`."""

    full = True

    def write(self, text: str) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(text)


def _on_a_full_disk() -> _Disk:
    (handler,) = [
        h for h in logging.getLogger().handlers if isinstance(h, PrivateRotatingFileHandler)
    ]
    disk = _Disk()
    previous = handler.setStream(disk)
    if previous is not None:
        previous.close()
    return disk


def test_a_full_disk_is_said_once_on_stderr_not_a_traceback_per_record(
    isolated_home: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup_logging(log_file())
    disk = _on_a_full_disk()
    log = logging.getLogger("togul_monitor.store.writer")
    for n in range(50):
        log.warning("journal write failed: %d", n)
    said = f"togul-monitor: cannot write the log file {path}: [Errno 28] {os.strerror(28)}"
    assert capsys.readouterr().err.splitlines() == [said]
    disk.full = False
    log.warning("space again")  # written: the next failure is said again, once
    disk.full = True
    log.warning("full again")
    log.warning("still full")
    assert capsys.readouterr().err.splitlines() == [said]
    assert "space again" in disk.getvalue()


def test_the_log_file_s_failure_goes_to_the_reporter_a_command_installs(
    isolated_home: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup_logging(log_file())
    _on_a_full_disk()
    heard: list[tuple[str, str]] = []
    report_log_failures(lambda where, error: heard.append((where, error)))
    try:
        logging.getLogger("togul_monitor").error("one")
        logging.getLogger("togul_monitor").error("two")
    finally:
        report_log_failures(None)
    assert heard == [(str(path), f"[Errno 28] {os.strerror(28)}")]
    assert capsys.readouterr().err == ""
