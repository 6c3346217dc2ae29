"""How long a service report takes with a million incidents stored.

    python -m bench.report_bench
    python -m bench.report_bench --database-url postgresql+psycopg://postgres@127.0.0.1/bench_h11rep
    python -m bench.report_bench --months 1        # all of them in the reported month

Fills `--count` incidents (each with its response and resolution timers) spread evenly over
`--months` months ending with October 2026, then times `build_report` for October 2026 (the
month's figures and September's beside them) for everything and for one service. The SQLite
store is a fresh file under the temp directory; a PostgreSQL database given by URL is emptied.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from bench.seeding import POLICY, SERVICES, sqlite_path, store
from bot.db import Database
from services.reports import build_report, parse_period, resolve

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
RUNS = 3
GOAL_S = 2.0


def _time_report(db: Database, scope_text: str) -> tuple[list[float], list[float], int]:
    """Three runs: wall-clock seconds and this process's CPU seconds of each (on SQLite the
    whole work, as the database runs in-process), and the incidents in the month."""
    scope = resolve(POLICY, scope_text)
    period = parse_period("2026-10", now=NOW)
    walls: list[float] = []
    cpus: list[float] = []
    incidents = 0
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        with db.read_session() as session:
            report = build_report(session, POLICY, scope, period, NOW)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
        incidents = report.current.incidents
    return walls, cpus, incidents


def run(url: str, *, count: int, months: int, refill: bool = True) -> None:
    engine, count, filled = store(url, count=count, months=months, end=END, refill=refill)
    db = Database(engine)
    for scope_text in ("all", SERVICES[3]):
        walls, cpus, incidents = _time_report(db, scope_text)
        verdict = "within" if max(walls) <= GOAL_S else "OVER"
        print(
            f"{engine.dialect.name}: {count:,} incidents stored ({months} months, {filled}); "
            f"report October 2026 for {scope_text}: {incidents:,} incidents in the month, "
            "built (with September beside it) in "
            + ", ".join(f"{w * 1000:.0f}" for w in walls)
            + " ms wall; CPU in this process "
            + ", ".join(f"{c * 1000:.0f}" for c in cpus)
            + f" ms ({RUNS} runs; {verdict} the {GOAL_S:g} s goal)"
        )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--database-url", default=None, help="also run on this PostgreSQL")
    parser.add_argument("--sqlite-path", default=None)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--keep", action="store_true", help="time against the databases of an earlier run"
    )
    args = parser.parse_args()
    if not args.skip_sqlite:
        path = args.sqlite_path or sqlite_path("servicedesk_report_bench.db", keep=args.keep)
        run(f"sqlite:///{path}", count=args.count, months=args.months, refill=not args.keep)
    if args.database_url:
        run(args.database_url, count=args.count, months=args.months, refill=not args.keep)


if __name__ == "__main__":
    main()
