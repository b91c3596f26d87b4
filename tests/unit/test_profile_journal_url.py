"""A profile's `journal_url` (or `journal_url_env`): checked at its line without showing it,
resolved from its variable, and what the monitor records into."""

from __future__ import annotations

from pathlib import Path

import pytest

from togul_monitor.config import paths
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import load_config
from togul_monitor.core import Monitor

HEAD = """\
[profiles.prod]
base_url = "https://api.togul.io"
environment_key = "production"
api_key_env = "PROD_KEY"
"""
URL = "postgresql://rec:s3cret-pw@db.internal:5432/togul"


def write(text: str) -> Path:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_for(text: str) -> ConfigError:
    write(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    return info.value


def test_a_literal_url_is_read_and_never_shown_in_a_repr() -> None:
    write(HEAD + f'journal_url = "{URL}"\n')
    entry = load_config().profiles["prod"]
    assert entry.journal_url == URL
    profile = entry.resolve({"PROD_KEY": "k"})
    assert profile.journal_url == URL
    assert "s3cret" not in repr(entry) and "s3cret" not in repr(profile)


def test_the_url_may_come_from_a_variable() -> None:
    write(HEAD + 'journal_url_env = "TOGUL_JOURNAL_URL"\n')
    profile = load_config().profiles["prod"].resolve({"PROD_KEY": "k", "TOGUL_JOURNAL_URL": URL})
    assert profile.journal_url == URL
    with pytest.raises(ConfigError) as info:
        load_config().profiles["prod"].resolve({"PROD_KEY": "k"})
    assert info.value.key == "journal_url_env" and "TOGUL_JOURNAL_URL" in info.value.message


def test_a_url_in_a_variable_may_hold_a_blank_that_a_key_may_not() -> None:
    """macOS's data folder is `Application Support`: a path with a space is a journal URL, while
    a key with one is two things pasted together."""
    write(HEAD + 'journal_url_env = "TOGUL_JOURNAL_URL"\n')
    spaced = "sqlite:///Users/me/Library/Application Support/togul-monitor/shared.sqlite3"
    entry = load_config().profiles["prod"]
    assert entry.resolve({"PROD_KEY": "k", "TOGUL_JOURNAL_URL": spaced}).journal_url == spaced
    assert entry.resolve_journal_url({"TOGUL_JOURNAL_URL": spaced}) == spaced
    accented = "sqlite:///Users/José/journal.sqlite3"  # as a journal_url in the file may be
    assert entry.resolve({"PROD_KEY": "k", "TOGUL_JOURNAL_URL": accented}).journal_url == accented
    with pytest.raises(ConfigError, match="control character at character 5"):
        entry.resolve({"PROD_KEY": "k", "TOGUL_JOURNAL_URL": "sqli\nte:///x"})
    with pytest.raises(ConfigError) as info:
        entry.resolve({"PROD_KEY": "tgl_sdk_a b", "TOGUL_JOURNAL_URL": spaced})
    assert info.value.key == "api_key_env" and "a space at character 10" in info.value.message


@pytest.mark.parametrize(
    ("body", "key", "line"),
    [
        ('journal_url = "mysql://rec:s3cret-pw@db/togul"\n', "journal_url", 5),
        (f'journal_url = "{URL}"\njournal_url_env = "X"\n', "journal_url_env", 6),
        ('journal_url_env = "not a name"\n', "journal_url_env", 5),
        # Read whole, not by its start: no database, a port that is no number, a password
        # whose `#` ends the address early (the parser would see no password at all).
        ('journal_url = "postgresql://db.internal"\n', "journal_url", 5),
        ('journal_url = "postgresql://rec:s3cret-pw@db.internal:abc/togul"\n', "journal_url", 5),
        ('journal_url = "postgresql://rec:my#s3cret-pw@db.internal/togul"\n', "journal_url", 5),
        ('journal_url = "postgres://rec:my/s3cret-pw@db.internal/togul"\n', "journal_url", 5),
    ],
)
def test_a_bad_journal_setting_is_named_at_its_line_without_the_url(
    body: str, key: str, line: int
) -> None:
    exc = error_for(HEAD + body)
    assert (exc.key, exc.line) == (key, line), str(exc)
    assert "s3cret" not in str(exc) and "db.internal" not in str(exc)


def test_the_monitor_records_where_the_profile_says_unless_told_otherwise() -> None:
    write(HEAD + f'journal_url = "{URL}"\n')
    profile = load_config().profiles["prod"].resolve({"PROD_KEY": "k"})
    assert Monitor(profile)._journal_options["journal_url"] == URL
    other = "sqlite:///tmp/elsewhere.sqlite3"
    assert Monitor(profile, journal_url=other)._journal_options["journal_url"] == other


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://rec:my#s3cret-pw-long@db/togul",
        "postgresql://rec:my/s3cret-pw-long@db/togul",
        "postgresql://rec:my?s3cret-pw-long@db/togul",
        "postgresql://rec@db/togul?sslmode=require&password=s3cret-pw-long",
        "postgresql://rec@db/togul?PASSWORD=s3cret-pw-long",
        "postgresql://rec:s3cret-pw-long@db:port/togul",
        "host=db password=s3cret-pw-long",
        "mysql://rec:s3cret-pw-long@db/togul",
    ],
)
def test_a_password_anywhere_in_a_journal_url_is_never_shown(url: str) -> None:
    from togul_monitor.store.journal import JournalError
    from togul_monitor.store.url import mask_url, parse_journal_url

    assert "s3cret" not in mask_url(url)
    try:
        parsed = parse_journal_url(url)
    except JournalError as exc:
        assert "s3cret" not in str(exc)
    else:
        assert parsed is not None and "s3cret" not in f"{parsed} {parsed!r}"
        assert "s3cret" not in parsed.scrub("FATAL: password s3cret-pw-long rejected")  # type: ignore[union-attr]


def test_a_journal_url_that_cannot_be_read_leaves_the_monitor_unrecorded_not_crashed() -> None:
    import asyncio
    import time

    from togul_monitor.core.recording import open_journal

    opened = asyncio.run(
        open_journal("p", None, time.time, {"journal_url": "postgresql://u:pw@h:abc/db"}, 10)
    )
    assert opened.journal is None and opened.notice is not None
    assert opened.notice.startswith("not recording:") and "pw@" not in opened.notice


@pytest.mark.parametrize(
    ("url", "quoted"),
    [
        # libpq quotes a value it cannot decode as the URL spells it.
        (
            "postgresql://togul:Pg-Secret%00Pass-777@127.0.0.1:5432/db",
            'forbidden value %00 in percent-encoded value: "Pg-Secret%00Pass-777"',
        ),
        ("postgresql://u@h/db?password=Pg-Secret%00Pass-777", 'value: "Pg-Secret%00Pass-777"'),
        # decoded, and decoded then made safe text (a NUL escaped)
        ("postgresql://u:Pg-Secret%2FPass-777@h/db", 'password "Pg-Secret/Pass-777" failed'),
        ("postgresql://u:Pg-Secret%00Pass-777@h/db", "password Pg-Secret\\x00Pass-777 failed"),
        # percent-encoded where the URL did not encode it
        ("postgresql://u:Pg-Secret!Pass-777@h/db", "Pg-Secret%21Pass-777"),
    ],
)
def test_scrub_masks_the_password_in_every_spelling(url: str, quoted: str) -> None:
    from togul_monitor.store.url import PostgresUrl, parse_journal_url

    parsed = parse_journal_url(url)
    assert isinstance(parsed, PostgresUrl)
    said = parsed.scrub(f"cannot connect: {quoted}")
    assert "Secret" not in said and "…" in said, said
