"""The PostgreSQL journal's writer when the database goes away or refuses a row: a batch is
retried until the database is back (bounded), the status says so meanwhile, the pool never holds
more connections than its size, and one event whose text holds a NUL does not lose its batch.

The outage is real: the journal connects through a TCP proxy on loopback that the test cuts
(every connection reset, new ones refused) and restores on the same port. Skipped without
TOGUL_TEST_POSTGRES_URL (tests/journal_backends.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from psycopg_pool.base import AttemptWithBackoff

from tests.journal_backends import postgres_url, scratch_profile
from togul_monitor.core.recording import journal_notice
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import PostgresJournal, open_journal_at, open_reader_at
from togul_monitor.store.model import JournalError
from togul_monitor.store.postgres import journal as pg_journal
from togul_monitor.store.postgres import pool as pg_pool

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)
POOL_SIZE = pg_journal._POOL_SIZE


class Proxy:
    """A TCP relay from a loopback port to the database that can be cut and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """The network goes: the listener closes, every relayed connection is reset."""
        if self._listener is not None:
            try:  # wakes the thread blocked in accept(): a close alone would leave it listening
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def url() -> str:
    return postgres_url()


@pytest.fixture
def proxy(url: str) -> Iterator[Proxy]:
    parts = urlsplit(url)
    relay = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    relay.start()
    yield relay
    relay.cut()


@pytest.fixture
def profile(url: str) -> Iterator[str]:
    with scratch_profile(url) as name:
        yield name


def through(url: str, proxy: Proxy) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.replace(f":{parts.port}", f":{proxy.port}")).geturl()


def ev(i: int, key: str = "f") -> FlagEvent:
    return FlagEvent("flag.updated", key, "env-1", i, 1_700_000_000.0 + i, str(i), time.time())


def wait(cond: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def pool_size(journal: PostgresJournal) -> int:
    return int(journal._pool.get_stats()["pool_size"])


def stored_ids(url: str, profile: str) -> set[str | None]:
    reader = open_reader_at(profile, url)
    try:
        return {e.event_id for e in reader.iter_events()}
    finally:
        reader.close()


def test_an_outage_keeps_the_batches_and_the_status_says_retrying(
    url: str, proxy: Proxy, profile: str
) -> None:
    journal = open_journal_at(profile, through(url, proxy), batch_pause=0.0)
    assert isinstance(journal, PostgresJournal)
    try:
        journal.append_event(ev(0))
        assert journal.flush(timeout=10)
        proxy.cut()
        journal.append_event(ev(1))
        wait(lambda: journal.trouble is not None, 20, "the writer to notice the outage")
        assert journal_notice(journal, None, False) == pg_journal.UNREACHABLE
        assert (journal.write_error or "").startswith(pg_journal.UNREACHABLE)
        for i in range(2, 30):  # queued behind the batch being retried
            journal.append_event(ev(i))
        assert journal.pending >= 28 and journal.dropped == 0 and journal.writing
        assert pool_size(journal) <= POOL_SIZE
        proxy.start()  # the same port: the database is back
        assert journal.flush(timeout=30)
        assert journal.dropped == 0 and journal.trouble is None and journal.write_error is None
        assert journal_notice(journal, None, False) is None
        assert stored_ids(url, profile) == {str(i) for i in range(30)}
        assert pool_size(journal) <= POOL_SIZE
    finally:
        journal.close()


def outage(journal: PostgresJournal, proxy: Proxy, *, batches: int) -> None:
    """Event 0 written, the network cut, then events 1…`batches` written one batch each, each
    retried until given up: each hands its connection back at most once, and the pool's
    replacements stay within its size."""
    journal.append_event(ev(0))
    assert journal.flush(timeout=10)
    proxy.cut()
    for i in range(1, batches + 1):
        journal.append_event(ev(i))
        assert journal.flush(timeout=10)
        assert pool_size(journal) <= POOL_SIZE


def test_a_batch_given_up_after_the_retry_time_is_dropped_and_the_pool_never_grows(
    url: str, proxy: Proxy, profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_journal, "RETRY_SECONDS", 0.5)
    monkeypatch.setattr(pg_journal, "_GETCONN_TIMEOUT", 0.2)
    journal = open_journal_at(profile, through(url, proxy), batch_pause=0.0)
    assert isinstance(journal, PostgresJournal)
    try:
        outage(journal, proxy, batches=5)
        assert journal.dropped == 5 and "unreachable" in (journal.write_error or "")
        assert journal.writing and journal.trouble is None
        proxy.start()
        # The pool reconnects on its own schedule (psycopg_pool: 1 s, then doubling from the
        # first failure), which may come after a half-second retry: the batch after the outage
        # is retried as long as it takes, as a real one is for 60 s.
        monkeypatch.setattr(pg_journal, "RETRY_SECONDS", 30.0)
        journal.append_event(ev(9))
        wait(lambda: journal.flush(timeout=1) and "9" in stored_ids(url, profile), 30, "ev 9")
        assert stored_ids(url, profile) == {"0", "9"}
        stats = journal._pool.get_stats()
        assert stats["pool_size"] <= POOL_SIZE, stats
    finally:
        journal.close()


def test_after_a_long_outage_the_pool_reconnects_as_soon_as_asked(
    url: str, proxy: Proxy, profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's own tries at a connection come further and further apart (psycopg_pool: 1 s,
    then doubling; a tenth of that here): after an outage of a few seconds its next try would
    come seconds after the database is back, too late for a batch retried 1.5 s. A try given up
    after `RECONNECT_SECONDS` is made afresh when the writer asks again, so the batch gets in."""
    monkeypatch.setattr(AttemptWithBackoff, "INITIAL_DELAY", 0.1)
    monkeypatch.setattr(pg_pool, "RECONNECT_SECONDS", 0.5)
    monkeypatch.setattr(pg_journal, "_FIRST_DELAY", 0.05)
    monkeypatch.setattr(pg_journal, "_MAX_DELAY", 0.2)
    monkeypatch.setattr(pg_journal, "_GETCONN_TIMEOUT", 0.2)
    monkeypatch.setattr(pg_journal, "RETRY_SECONDS", 1.0)
    journal = open_journal_at(profile, through(url, proxy), batch_pause=0.0)
    assert isinstance(journal, PostgresJournal)
    try:
        outage(journal, proxy, batches=4)  # four batches given up: four seconds and more
        assert journal.dropped == 4
        proxy.start()
        monkeypatch.setattr(pg_journal, "RETRY_SECONDS", 1.5)
        journal.append_event(ev(9))
        assert journal.flush(timeout=10)
        assert journal.dropped == 4  # ev 9 got in within its retries
        assert stored_ids(url, profile) == {"0", "9"}
    finally:
        journal.close()


def test_a_read_waiting_through_a_long_outage_is_answered_when_it_ends(
    url: str, proxy: Proxy, profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read waits up to 30 s for a connection, longer than the pool tries one: a try given up
    is made afresh for it, so the read is answered once the database is back."""
    monkeypatch.setattr(AttemptWithBackoff, "INITIAL_DELAY", 0.1)
    monkeypatch.setattr(pg_pool, "RECONNECT_SECONDS", 0.5)
    journal = open_journal_at(profile, url, batch_pause=0.0)
    journal.append_event(ev(0))
    assert journal.flush(timeout=10)
    journal.close()
    reader = open_reader_at(profile, through(url, proxy))
    try:
        proxy.cut()
        with contextlib.suppress(JournalError):
            reader.recent_events(1)  # the pool's idle connection is broken: this read says so
        answers: list[list[FlagEvent]] = []
        waiting = threading.Thread(target=lambda: answers.append(reader.recent_events(1)))
        waiting.start()
        stats = reader._pool.get_stats  # type: ignore[attr-defined]
        # Tries every few tenths of a second, each given up after half a second: eight failed
        # ones are two given up, at least.
        wait(lambda: stats().get("connections_errors", 0) >= 8, 10, "the pool to keep trying")
        proxy.start()
        waiting.join(timeout=10)
        assert answers, "the read was not answered after the database came back"
        assert [event.event_id for event in answers[0]] == ["0"]
    finally:
        reader.close()


def test_a_nul_in_server_text_loses_no_batch(url: str, profile: str) -> None:
    journal = open_journal_at(profile, url, batch_pause=0.0)
    try:
        events = [ev(i, key=f"f{i}") for i in range(999)]
        events.append(FlagEvent("flag.\x00updated", "bad\x00key", "env\x00", 1, 1.0, "id\x00", 2.0))
        journal.append_events(events)
        journal.append_transition(ValueTransition("bad\x00key", OFF, ON, "id\x00", 3.0, "ctx"))
        diff = ConfigDiff(
            "bad\x00key", "env\x00", "id\x00", 1, (Change("enabled", "changed", False, True),)
        )
        journal.append_config_diff(diff, 3.0)
        journal.set_environment_names({"env\x00": "prod\x00"})
        journal.set_last_value("bad\x00key", ON, 3.0)
        assert journal.flush(timeout=10)
        assert journal.dropped == 0 and journal.write_error is None
        assert journal.count_events() == 1000
        stored = journal.recent_events(1)[0]
        assert (stored.flag_key, stored.type, stored.event_id) == (
            "bad\ufffdkey",
            "flag.\ufffdupdated",
            "id\ufffd",
        )
        assert [t.flag_key for t in journal.transitions_for("id\ufffd", "bad\ufffdkey")] == [
            "bad\ufffdkey"
        ]
        # The diff itself is JSON, which holds a NUL escaped: read back as it was.
        assert [d.diff.flag_key for d in journal.config_diffs(None)] == ["bad\x00key"]
        assert journal.environment_names() == {"env\ufffd": "prod\ufffd"}
        assert "bad\ufffdkey" in journal.last_values()["default"]
        journal.append_event(ev(1000))  # and the batches after it as ever
        assert journal.flush(timeout=10) and journal.count_events() == 1001
    finally:
        journal.close()
