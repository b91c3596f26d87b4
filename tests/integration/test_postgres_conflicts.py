"""Two recorders of one profile on one PostgreSQL journal (the redundancy docs/journal.md
describes) write overlapping batches: neither deadlocks the other, and a batch PostgreSQL rolls
back as a deadlock or a serialization failure is written again, never dropped.

Deterministic: each test makes the database do what a race would, with a trigger in a schema of
its own (`fresh_schema_url`): one raises the errors, the other holds a batch mid-transaction at a
"gate" row until the test lets it go. Skipped without TOGUL_TEST_POSTGRES_URL
(tests/journal_backends.py)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import psycopg
import pytest

from tests.journal_backends import fresh_schema_url
from tests.waits import wait_until
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import Journal, open_journal_at

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema_url() as fresh:
        yield fresh


@pytest.fixture
def profile() -> str:
    # A name of its own, though the schema is: writers' advisory locks span the database.
    return f"prod-{secrets.token_hex(6)}"


def change(event_id: str, context: str = "premium", key: str = "f") -> ValueTransition:
    return ValueTransition(key, OFF, ON, event_id, 1000.0 + len(event_id), context)


def transition_rows(
    conn: psycopg.Connection[tuple[object, ...]], profile: str
) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT event_id, context FROM transitions WHERE profile = %s ORDER BY event_id, context",
        (profile,),
    ).fetchall()


def test_a_batch_rolled_back_by_a_deadlock_or_a_serialization_failure_is_written_again(
    url: str, profile: str
) -> None:
    journal = open_journal_at(profile, url)  # makes the tables, then the trigger goes on them
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            # The first insert fails as a deadlock victim's would, the second as a
            # serialization failure's; the third goes in.
            conn.execute(
                """CREATE SEQUENCE tries;
                CREATE FUNCTION lose_races() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE n bigint := nextval('tries');
                BEGIN
                    IF n = 1 THEN
                        RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
                    ELSIF n = 2 THEN
                        RAISE EXCEPTION 'could not serialize access'
                            USING ERRCODE = 'serialization_failure';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER lose_races BEFORE INSERT ON transitions
                    FOR EACH ROW EXECUTE FUNCTION lose_races()"""
            )
            journal.append_transition(change("7"))
            assert journal.flush(timeout=20)
            assert (journal.dropped, journal.write_error) == (0, None)
            assert transition_rows(conn, profile) == [("7", "premium")]
    finally:
        journal.close()


def blocked_by(conn: psycopg.Connection[tuple[object, ...]], pid: int) -> set[int]:
    """The server processes waiting for a lock `pid` holds."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", (pid,)
    ).fetchall()
    return {int(row[0]) for row in rows}


def test_two_recorders_writing_overlapping_rows_in_opposite_orders_do_not_deadlock(
    url: str, profile: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="togul_monitor.store.postgres.journal")
    gates = secrets.randbelow(1 << 30)  # the advisory lock class of this test's gates
    first, second = open_journal_at(profile, url), open_journal_at(profile, url)
    journals: list[Journal] = [first, second]
    with psycopg.connect(url, autocommit=True) as ctl:
        try:
            # A row whose context is `gate-N` waits inside its batch's transaction until the
            # test lets gate N go: the batch holds what it inserted before it meanwhile.
            ctl.execute(
                f"""CREATE FUNCTION gate() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.context LIKE 'gate-%' THEN
                        PERFORM pg_advisory_xact_lock_shared({gates}, substr(NEW.context, 6)::int);
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER gate BEFORE INSERT ON transitions
                    FOR EACH ROW EXECUTE FUNCTION gate()"""  # type: ignore[arg-type]
            )
            for gate in (1, 2, 3):
                ctl.execute("SELECT pg_advisory_lock(%s, %s)", (gates, gate))
            me = ctl.info.backend_pid

            # The first recorder's batch: the same change of event 1, then (held at gate 2)
            # of event 2. Queued while its writer waits at gate 1, so they are one batch.
            first.append_transition(change("g1", "gate-1"))
            wait_until(lambda: blocked_by(ctl, me), "the first recorder at gate 1")
            (first_pid,) = blocked_by(ctl, me)
            for row in (change("1"), change("g2", "gate-2"), change("2")):
                first.append_transition(row)
            ctl.execute("SELECT pg_advisory_unlock(%s, 1)", (gates,))
            wait_until(lambda: first_pid in blocked_by(ctl, me), "the first recorder at gate 2")

            # The second recorder's batch: the same two changes, in the other order (its
            # evaluations finished the other way round).
            second.append_transition(change("g3", "gate-3"))
            wait_until(
                lambda: (blocked_by(ctl, me) | blocked_by(ctl, first_pid)) - {first_pid},
                "the second recorder's first batch to wait",
            )
            (second_pid,) = (blocked_by(ctl, me) | blocked_by(ctl, first_pid)) - {first_pid}
            second.append_transition(change("2"))
            second.append_transition(change("1"))
            ctl.execute("SELECT pg_advisory_unlock(%s, 3)", (gates,))
            wait_until(
                lambda: second_pid in blocked_by(ctl, first_pid),
                "the second recorder to wait for the first",
            )
            ctl.execute("SELECT pg_advisory_unlock(%s, 2)", (gates,))

            for journal in journals:
                assert journal.flush(timeout=20)
                assert (journal.dropped, journal.write_error) == (0, None)
            assert transition_rows(ctl, profile) == [
                ("1", "premium"),
                ("2", "premium"),
                ("g1", "gate-1"),
                ("g2", "gate-2"),
                ("g3", "gate-3"),
            ]
            # Not even a batch written again: the two never deadlocked.
            assert "written again" not in caplog.text
        finally:
            ctl.execute("SELECT pg_advisory_unlock_all()")
            for journal in journals:
                journal.close()
