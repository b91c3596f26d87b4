"""The flags' configurations as an earlier run last read them (the journal's `last_configs`),
and keeping the journal's copy current (core/configs.py).

A run's first read of a flag is compared with what the journal remembers of it, so a change
made while nobody watched is said as what it was (`default "bm25" → "neural"`), tied to the
event the server replayed for it when the answer is that event's, else found on a re-fetch;
only a flag the journal knows nothing of is a first snapshot. The journal keeps one row per
flag, written when the configuration read differs from the one it holds (a first read, a diff)
and deleted with the flag, never per event.

A remembered configuration is marked as the values remembered from an earlier run are
(domain/unseen.py): a diff from it tied to an event may hold changes whose events were lost,
unless the time between the runs is proved whole.
"""

from __future__ import annotations

from collections.abc import Mapping

from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.domain.unseen import UnseenMarks
from togul_monitor.store.journal import Journal


class RememberedConfigs:
    def __init__(self) -> None:
        self._configs: dict[str, FlagConfig] = {}  # not read again by this run yet

    def seed(self, configs: Mapping[str, FlagConfig], unseen: UnseenMarks, dated: bool) -> None:
        """The journal's configurations; `dated`: the journal says until when its run watched
        and the stream resumes after its last event, so a replay may prove the time since."""
        self._configs = dict(configs)
        for key in self._configs:
            if dated:
                unseen.remember(key)
            else:
                unseen.add(key)

    def take(self, key: str, config: FlagConfig) -> FlagConfig | None:
        """What the journal remembers of the flag `config` is a read of, once: None when it
        knows none, or another flag of the key (deleted and created again meanwhile)."""
        known = self._configs.pop(key, None)
        if known is None or known.flag_id != config.flag_id:
            return None
        return known if known.environment_id == config.environment_id else None

    def forget(self, key: str) -> None:
        self._configs.pop(key, None)


def keep(
    journal: Journal | None, environment_id: str, key: str, config: FlagConfig | None, at: float
) -> None:
    """The journal's copy of the flag's configuration is `config` from now on (None: gone)."""
    if journal is not None:
        journal.set_last_config(environment_id, key, config, at)
