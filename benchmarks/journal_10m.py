"""Benchmark: the journal at 10 million events, in SQLite and in PostgreSQL.

    .venv/bin/python benchmarks/journal_10m.py [--events 10000000] [--url postgresql://...]
        [--backends sqlite,sqlite-indexed,postgres] [--queries 200]

For each backend, in a fresh journal:
1. recorder throughput: N generated events appended through the real writer path
   (`Journal.append_events` → the writer thread → the backend's sink, batches as a monitor's),
   with the intake's backpressure (wait while over 100,000 pending), until all are committed;
2. `history FLAG --limit 50` latency: the reads the command makes (`history` + `config_diffs`
   of the flag) on a reader as the CLI opens it, p50/p99 over `--queries` queries on random
   flags, half busy ones (~180,000 events each at 10 M) and half rare ones (20 events each,
   spread over the whole journal: the worst case without an index);
3. the TUI's backfill latency: what a monitor reads at start (core/recording.py): the newest
   10,000 events and the transitions and diffs recorded since (`changes_since`).

The events: 50 busy flags (90 %), 1,000 others (10 %), 100 rare ones (20 events each), in one
environment, with SSE ids; one transition every 1,000 events. `sqlite-indexed` is SQLite with
an index on events (flag_key, seq) created before the first write: the write cost of that index
against the read it buys (store/sqlite/schema.py, "Why no index"). PostgreSQL's URL comes from
`--url`, else TOGUL_TEST_POSTGRES_URL (`.ci/postgres` starts a server); its journal is a fresh
schema, dropped at the end. Prints `nproc` and the load average: the figures depend on both.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from togul_monitor.domain.events import FlagEvent  # noqa: E402
from togul_monitor.domain.values import Evaluation, ValueTransition  # noqa: E402
from togul_monitor.store.journal import (  # noqa: E402
    Journal,
    JournalReader,
    open_journal_at,
    open_reader_at,
)

BUSY = [f"busy-{i}" for i in range(50)]
OTHER = [f"other-{i}" for i in range(1000)]
RARE = [f"rare-{i}" for i in range(100)]
RARE_EACH = 20
CHUNK = 50_000
HIGH_WATER = 100_000
ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)


def events(total: int, seed: int = 1) -> Iterator[list[FlagEvent]]:
    """`total` events in chunks, the same for every backend (seeded)."""
    rng = random.Random(seed)
    rare_at = {pos: RARE[k // RARE_EACH] for k, pos in enumerate(rng.sample(range(total), 2000))}
    start = time.time() - total / 1000  # 1,000 a second up to now: inside the retention
    for base in range(0, total, CHUNK):
        n = min(CHUNK, total - base)
        picks = rng.choices(BUSY, k=n)
        others = rng.choices(OTHER, k=n)
        chunk = []
        for j in range(n):
            i = base + j
            key = rare_at.get(i) or (others[j] if j % 10 == 0 else picks[j])
            chunk.append(
                FlagEvent(
                    type="flag.updated",
                    flag_key=key,
                    environment_id="env-1",
                    version=i,
                    timestamp=int(start + i / 1000),
                    event_id=str(i),
                    received_at=start + i / 1000,
                )
            )
        yield chunk


def record(journal: Journal, total: int) -> float:
    """Append `total` events as a monitor would; events per second until all are committed."""
    began = time.perf_counter()
    for chunk in events(total):
        journal.append_events(chunk)
        for e in chunk[::1000]:  # a value change every 1,000 events
            journal.append_transition(
                ValueTransition(e.flag_key, OFF, ON, e.event_id, e.received_at + 0.01)
            )
        if journal.pending > HIGH_WATER:
            journal.wait_pending_below(HIGH_WATER // 2, 60.0)
    assert journal.flush(timeout=600), "the writer did not finish"
    assert journal.write_error is None, journal.write_error
    elapsed = time.perf_counter() - began
    return total / elapsed


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):7.2f} ms  p99 {p99:7.2f} ms  (n={len(ms)})"


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def measure_reads(reader: JournalReader, queries: int) -> None:
    rng = random.Random(2)

    def history(flag: str) -> None:
        reader.history(flag, 50)
        reader.config_diffs(flag, 50)

    for label, flags in (("busy", BUSY), ("rare", RARE)):
        samples = timed(lambda flags=flags: history(rng.choice(flags)), queries // 2)
        print(f"  history FLAG --limit 50, {label} flags: {percentiles(samples)}")
    # Each backfill moves 10,000 rows: fewer runs say as much.

    def backfill() -> None:
        loaded = reader.recent_events(10_000)
        reader.changes_since(loaded[0].received_at, 2 * len(loaded) + 1000)

    print(f"  backfill (10,000 events + changes):  {percentiles(timed(backfill, 40))}")


def run_sqlite(total: int, queries: int, indexed: bool, folder: Path) -> None:
    path = folder / ("indexed.sqlite3" if indexed else "plain.sqlite3")
    if indexed:
        with sqlite3.connect(path) as conn:
            conn.execute(
                "CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT, type TEXT NOT NULL,"
                " flag_key TEXT NOT NULL, environment_id TEXT NOT NULL, version INTEGER NOT NULL,"
                " timestamp REAL NOT NULL, received_at REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX events_by_flag ON events (flag_key, seq)")
    journal = open_journal_at("bench", path, max_events=2 * total)
    try:
        rate = record(journal, total)
    finally:
        journal.close()
    name = "SQLite + index (flag_key, seq)" if indexed else "SQLite (no index on events)"
    print(f"{name}: {total:,} events, recorder {rate:,.0f} events/s")
    print(f"  file {path.stat().st_size / 1e9:.2f} GB")
    reader = open_reader_at("bench", path)
    try:
        t0 = time.perf_counter()
        reader.check()
        print(
            f"  `history`'s integrity check (quick_check, once per command): "
            f"{time.perf_counter() - t0:.2f} s"
        )
        measure_reads(reader, queries)
    finally:
        reader.close()


def run_postgres(total: int, queries: int, url: str) -> None:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
    joiner = "&" if "?" in url else "?"
    scoped = f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"
    try:
        journal = open_journal_at("bench", scoped, max_events=2 * total)
        try:
            rate = record(journal, total)
        finally:
            journal.close()
        with psycopg.connect(scoped, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE events")  # what autovacuum does after a bulk load
            row = conn.execute("SELECT pg_total_relation_size('events')").fetchone()
        size = row[0] / 1e9 if row else 0.0
        print(f"PostgreSQL: {total:,} events, recorder {rate:,.0f} events/s; events {size:.2f} GB")
        reader = open_reader_at("bench", scoped)
        try:
            measure_reads(reader, queries)
        finally:
            reader.close()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--url", default=os.environ.get("TOGUL_TEST_POSTGRES_URL"))
    parser.add_argument("--backends", default="sqlite,sqlite-indexed,postgres")
    args = parser.parse_args()
    backends = args.backends.split(",")
    print(
        f"python {sys.executable}; nproc {os.cpu_count()}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="journal-bench-") as tmp:
        for backend in backends:
            if backend in ("sqlite", "sqlite-indexed"):
                run_sqlite(args.events, args.queries, backend == "sqlite-indexed", Path(tmp))
            elif backend == "postgres":
                if not args.url:
                    print("PostgreSQL: skipped (no --url, no TOGUL_TEST_POSTGRES_URL)")
                    continue
                run_postgres(args.events, args.queries, args.url)
            print(f"  load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            for leftover in Path(tmp).iterdir():  # disk: one journal at a time
                leftover.unlink()


if __name__ == "__main__":
    main()
