"""An outage journalled as one that may have missed changes, proved whole later
(domain/events.py `OutageProven`): its row is updated in both backends, not a second one added."""

from __future__ import annotations

import msgspec

from togul_monitor.domain.events import FlagEvent, Outage

from ..journal_backends import JournalBackend


def test_a_proven_outage_updates_its_row(journal_backend: JournalBackend) -> None:
    reported = Outage(2004.1, 2004.2, 0, True, 2004.3)
    other = Outage(2001.0, 2002.0, 0, True, 2002.5)  # the same window's neighbour stays as is
    journal = journal_backend.open()
    try:
        journal.append_event(FlagEvent("flag.updated", "f", "env-1", 1, 1000, "1", 2000.0))
        journal.append_outage(other)
        journal.append_outage(reported)
        assert journal.flush()
        proven = msgspec.structs.replace(reported, may_have_missed=False, proven_at=2006.0)
        journal.revise_outage(proven)
        assert journal.flush()
    finally:
        journal.close()
    reader = journal_backend.reader()
    kept = [(o.started_at, o.may_have_missed) for o in reader.outages()]
    assert kept == [(2001.0, True), (2004.1, False)]
    outages = [h for h in reader.history("f", 10) if isinstance(h, Outage)]
    assert [o.may_have_missed for o in outages] == [False, True]  # newest first
