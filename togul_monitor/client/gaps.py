"""Per-flag version gap detection, switched on only once versions are seen to be per flag.

The emulator's `version` is the flag's own version (docs/protocol.md), but a real server may use one
global (or per-environment) counter, and then every flag's versions jump all the time. So the
tracker first looks for proof of per-flag versions: a flag whose version goes up by exactly 1
while other events of the same environment arrived in between. With a global or per-environment
counter those other events would have used up numbers, so such an "interleaved +1 step" cannot
happen there. After two of them, a version that does not follow the flag's last one by exactly
1 is reported as a possible gap (it jumped: events were missed; it went back or repeated: the
flag was recreated, or events arrived out of order).

`flag.created` starts a flag afresh (a recreated flag may restart at 1) and `flag.deleted` forgets
it; neither is checked.

Flag keys and environment ids come from the server, so the tracker remembers the last version of
the `max_flags` most recently changed flags only, and follows the first `MAX_ENVIRONMENTS`
environments it sees (a real organisation has a handful): a server naming ever new keys or
environments cannot grow it. A flag forgotten that way is checked again from its next event on,
as if first seen; events of environments beyond the limit are not checked.

The tracker also answers, for the stream's rare events whose numeric id is not above the highest
delivered, whether an event is news rather than a replay of one delivered (`is_newer`, used by
items_run.py): a replayed event carries a version the tracker has already seen for its flag. So
it keeps, beside each live flag's last version, each deleted flag's highest deleted version and
latest deletion time (a replay of a deleted flag's events is never newer than both), and notes
when it dropped a flag or a deletion for space (`forgot`): a flag it does not know may then have
been delivered, and is no longer taken for news.

For the outage proof (outages.py), a copy of the tracker taken before a reconnect's first batch
tells whether each of its events is its flag's next one (`contradicts`): a restarted server's
replay of its new numbering is not.

`observe` is the reference; the stream's run loop (items_run.py) does the same inline, on this
tracker's state, to save a call per event: a change here belongs there too.
"""

from __future__ import annotations

from collections import OrderedDict

from togul_monitor.domain.events import FlagEvent

#: Interleaved +1 steps needed before gaps are reported.
EVIDENCE_NEEDED = 2
#: Flags whose last version is remembered (the most recently changed ones).
MAX_TRACKED_FLAGS = 20_000
MAX_ENVIRONMENTS = 1_000


class VersionTracker:
    __slots__ = ("_last", "_env_seq", "_deleted", "evidence", "per_flag", "max_flags", "forgot")

    def __init__(self, max_flags: int = MAX_TRACKED_FLAGS) -> None:
        self.max_flags = max_flags
        # (environment_id, flag_key) -> (version, the environment's event sequence number then)
        self._last: OrderedDict[tuple[str, str], tuple[int, int]] = OrderedDict()
        self._env_seq: dict[str, int] = {}
        # (environment_id, flag_key) -> (highest version it was deleted at, latest deletion time),
        # of the `max_flags` most recently deleted flags
        self._deleted: dict[tuple[str, str], tuple[int, float]] = {}
        self.evidence = 0
        self.per_flag = False
        self.forgot = False  # a flag or a deletion was dropped for space

    def observe(self, event: FlagEvent) -> tuple[int, int] | None:
        """Record `event`; return (expected, got) versions when it looks like a gap."""
        env = event.environment_id
        if env not in self._env_seq and len(self._env_seq) >= MAX_ENVIRONMENTS:
            return None
        seq = self._env_seq.get(env, 0) + 1
        self._env_seq[env] = seq
        key = (env, event.flag_key)
        if event.type == "flag.deleted":
            self._last.pop(key, None)
            self.remember_deleted(key, event.version, event.timestamp)
            return None
        last = self._last
        previous = last.get(key)
        last[key] = (event.version, seq)
        if previous is None:
            if len(last) > self.max_flags:
                last.popitem(last=False)  # the least recently changed flag
                self.forgot = True
        else:
            last.move_to_end(key)
        if previous is None:
            return None
        if event.type == "flag.created":
            # Created again without a deletion seen: the deletion was missed, before now.
            self.remember_deleted(key, previous[0], event.timestamp)
            return None
        last_version, last_seq = previous
        if event.version == last_version + 1:
            if not self.per_flag and last_seq != seq - 1:
                self.evidence += 1
                self.per_flag = self.evidence >= EVIDENCE_NEEDED
            return None
        if self.per_flag:
            return (last_version + 1, event.version)
        return None

    def remember_deleted(self, key: tuple[str, str], version: int, timestamp: float) -> None:
        """Note that the flag `key` was deleted at `version` by `timestamp` (rare: off the
        per-event path)."""
        deleted = self._deleted
        before = deleted.pop(key, None)
        if before is not None:
            version = max(version, before[0])
            timestamp = max(timestamp, before[1])
        deleted[key] = (version, timestamp)
        if len(deleted) > self.max_flags:
            del deleted[next(iter(deleted))]  # the least recently deleted flag
            self.forgot = True

    def copy(self) -> VersionTracker:
        """A tracker that knows what this one knows now, and goes on apart from it."""
        other = VersionTracker(self.max_flags)
        other._last = OrderedDict(self._last)
        other._env_seq = dict(self._env_seq)
        other._deleted = dict(self._deleted)
        other.evidence, other.per_flag, other.forgot = self.evidence, self.per_flag, self.forgot
        return other

    def contradicts(self, event: FlagEvent) -> bool:
        """Whether `event`, as its flag's next event, shows that events of the flag are missing
        (or that the server numbered them afresh): a live flag's version went back, repeated
        (but for its deletion) or, once versions are known to be per flag, jumped; a live flag
        was created again (its deletion unseen), or a deleted one changed without its creation.
        A flag the tracker does not know contradicts nothing. For the outage proof
        (outages.py): off the per-event path."""
        key = (event.environment_id, event.flag_key)
        last = self._last.get(key)
        if last is None:
            return key in self._deleted and event.type != "flag.created"
        if event.type == "flag.created":
            return True
        version, known = event.version, last[0]
        if version < known or (version == known and event.type != "flag.deleted"):
            return True
        return self.per_flag and version > known + 1

    def seen_version(self, event: FlagEvent) -> bool:
        """Whether the tracker saw `event`'s flag, alive, at `event`'s version or a later one."""
        last = self._last.get((event.environment_id, event.flag_key))
        return last is not None and event.version <= last[0]

    def is_newer(self, event: FlagEvent) -> bool:
        """Whether `event` is news: newer than every event of its flag the tracker remembers.

        Its version must be above the flag's last one; for a flag deleted before, above every
        version it was deleted at, or stamped after its last deletion (a replay of an earlier
        life of the flag is neither). A flag never seen is news, unless the tracker may have
        forgotten it or does not follow its environment."""
        env = event.environment_id
        key = (env, event.flag_key)
        version = event.version
        last = self._last.get(key)
        if last is not None and version <= last[0]:
            return False
        deleted = self._deleted.get(key)
        if deleted is not None:
            return version > deleted[0] or event.timestamp > deleted[1]
        if last is not None:
            return True
        followed = env in self._env_seq or len(self._env_seq) < MAX_ENVIRONMENTS
        return followed and not self.forgot
