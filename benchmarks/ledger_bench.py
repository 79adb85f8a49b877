"""Ledger at scale: 1,000,000 transitions on SQLite and PostgreSQL 15; prints figures.

Run from the repository root: ``.venv/bin/python -m benchmarks.ledger_bench``
(``--rows``, ``--backends sqlite,postgres``, ``--repeat``). The history looks like a
year of office hours for 2,000 services in 50 namespaces: a stop and a start per
weekday edge, most of them schedule edges that claim a key.

Measured through the same `SqlLedger` the service uses, after a bulk load (executemany
for SQLite, COPY for PostgreSQL) and ANALYZE:

- "last 30 days for one namespace": ``history(namespace=..., since=now-30d)``;
- "latest transition per service": ``view(now)`` (facts table, 8-day edge horizon),
  and for comparison the same answer computed from the transitions table alone.

Target (issue 4): each query ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from reclaimer.ledger import SqlLedger
from reclaimer.ledger.engine import make_engine, parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.ledger.tables import TransitionRow

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SERVICES = 2000
NAMESPACES = 50
BATCH = 50_000
COLUMNS = ("state", "namespace", "name", "uid", "action", "trigger", "reason", "policy",
           "edge_key", "strategy", "evidence", "gpus", "actor", "at", "recorded_at",
           "applied_at", "verified_at")
LATEST_RAW = """
SELECT t.namespace, t.name, t.action, t.at FROM transitions t
JOIN (SELECT namespace, name, MAX(at) AS at FROM transitions
      WHERE state IN ('applied', 'verified', 'observed') GROUP BY namespace, name) m
  ON t.namespace = m.namespace AND t.name = m.name AND t.at = m.at
"""


def _rows(count: int) -> Iterator[dict[str, Any]]:
    """Oldest first; one row every ``span / count``, services in round-robin."""
    step = timedelta(days=365) / count
    for index in range(count):
        service, at = index % SERVICES, NOW - timedelta(days=365) + step * index
        stop = (index // SERVICES) % 2 == 0
        edge = index % 10 != 0
        yield {
            "state": "verified", "namespace": f"team-{service % NAMESPACES:02d}",
            "name": f"model-{service:04d}", "uid": f"uid-{service:04d}",
            "action": "stop" if stop else "start", "trigger": "schedule" if edge else "idle",
            "reason": ("ScheduleStop" if stop else "ScheduleStart") if edge else "IdleTimeout",
            "policy": "office-hours", "strategy": "native", "gpus": 1 + service % 4,
            "edge_key": f"office-hours|uid-{service:04d}|{at.isoformat()}" if edge else None,
            "evidence": {"requests": 0}, "actor": "replica-0", "at": at, "recorded_at": at,
            "applied_at": at, "verified_at": at,
        }


def _batches(count: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in _rows(count):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _load_sqlite(engine: Engine, count: int) -> None:
    with engine.begin() as connection:
        for batch in _batches(count):
            connection.execute(TransitionRow.__table__.insert(), batch)


def _load_postgres(engine: Engine, count: int) -> None:
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
                f"COPY transitions ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in _rows(count):
                copy.write_row([json.dumps(row[c]) if c == "evidence" else row[c]
                                for c in COLUMNS])
        raw.commit()
    finally:
        raw.close()


def _derive(engine: Engine, *, analyze: str) -> None:
    """What the store keeps as it goes: claims for edge rows, the per-service facts."""
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO edge_claims (edge_key, transition_id, claimed_at) "
            "SELECT edge_key, id, recorded_at FROM transitions WHERE edge_key IS NOT NULL"))
        connection.execute(text(
            "INSERT INTO service_facts (namespace, name, uid, action, trigger, at, "
            "transition_id) SELECT t.namespace, t.name, t.uid, t.action, t.trigger, t.at, t.id "
            f"FROM ({LATEST_RAW}) m JOIN transitions t ON t.namespace = m.namespace "
            "AND t.name = m.name AND t.at = m.at"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(analyze))


def _timed(label: str, action: Callable[[], object], repeat: int) -> dict[str, Any]:
    action()  # warm the caches once, as a running service would have them
    samples, size = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        samples.append((time.perf_counter() - began) * 1000)
        size = len(result) if isinstance(result, (list, tuple)) else size
    samples.sort()
    return {"query": label, "median_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1), "rows": size}


def _queries(ledger: SqlLedger, engine: Engine, repeat: int) -> list[dict[str, Any]]:
    since = NOW - timedelta(days=30)

    def raw_latest() -> list[Any]:
        with engine.connect() as connection:
            return list(connection.execute(text(LATEST_RAW)))

    def raw_history() -> list[Any]:
        with engine.connect() as connection:
            return list(connection.execute(text(
                "SELECT * FROM transitions WHERE namespace = :ns AND at >= :since "
                "ORDER BY at DESC, id DESC"), {"ns": "team-07", "since": _stamp(engine, since)}))

    return [
        _timed("last 30 days for one namespace (SQL only)", raw_history, repeat),
        _timed("last 30 days for one namespace (history(): records built)",
               lambda: ledger.history(namespace="team-07", since=since), repeat),
        _timed("latest transition per service (view(): facts + 8-day edge keys + holds)",
               lambda: list(ledger.view(NOW).last_transitions), repeat),
        _timed("latest transition per service (facts table, SQL only)",
               lambda: list(_facts(engine)), repeat),
        _timed("latest transition per service (from transitions, no facts table)",
               raw_latest, max(3, repeat // 5)),
    ]


def _stamp(engine: Engine, instant: datetime) -> object:
    """The bound form the table stores: naive UTC text on SQLite, aware on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        return instant.replace(tzinfo=None).isoformat(sep=" ")
    return instant


def _facts(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT * FROM service_facts")))


def run(url: str, *, rows: int, repeat: int, backend: str) -> dict[str, Any]:
    parsed = parse_url(url)
    upgrade(parsed)
    engine = make_engine(parsed)
    began = time.perf_counter()
    (_load_sqlite if backend == "sqlite" else _load_postgres)(engine, rows)
    _derive(engine, analyze="ANALYZE")
    load_s = time.perf_counter() - began
    ledger = SqlLedger(engine)
    try:
        return {"backend": backend, "rows": rows, "load_s": round(load_s, 1),
                "queries": _queries(ledger, engine, repeat)}
    finally:
        ledger.close()


def _print(result: dict[str, Any]) -> None:
    print(f"\n{result['backend']}: {result['rows']:,} transitions, "
          f"bulk load + claims + facts + ANALYZE {result['load_s']} s")
    for query in result["queries"]:
        print(f"  {query['query']:<72} median {query['median_ms']:>8} ms  "
              f"p95 {query['p95_ms']:>8} ms  rows {query['rows']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as scratch:
            url = f"sqlite:///{Path(scratch) / 'bench.db'}"
            _print(run(url, rows=args.rows, repeat=args.repeat, backend="sqlite"))
    if "postgres" in backends:
        _postgres(args.rows, args.repeat)


def _postgres(rows: int, repeat: int) -> None:
    from tests.fixtures.postgres import postgres_missing, running_postgres  # noqa: PLC0415

    missing = postgres_missing()
    if missing is not None:
        print(f"\npostgres: skipped: {missing}")
        return
    with running_postgres() as server:
        with server.admin() as admin:
            admin.execute("CREATE DATABASE bench")
        _print(run(server.url("bench"), rows=rows, repeat=repeat, backend="postgres"))


if __name__ == "__main__":
    main()
