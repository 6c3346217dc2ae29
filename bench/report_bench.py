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
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, text

import models  # noqa: F401  (registers every table)
from bot.db import Database, make_engine, upgrade_database
from bot.policy import parse_policy
from models.incident import Incident
from models.sla_timer import SlaTimer
from services.reports import build_report, parse_period, resolve

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
CHUNK = 20_000
SERVICES = [f"service-{n}" for n in range(10)]
POLICY = parse_policy(
    '[[teams]]\nname = "ops"\n'
    + "".join(f'[[services]]\nname = "{name}"\nteam = "ops"\n' for name in SERVICES)
)
RESPONSE_S = {1: 900, 2: 3600, 3: 4 * 3600, 4: 8 * 3600, 5: 16 * 3600}
RESOLUTION_S = {1: 4 * 3600, 2: 8 * 3600, 3: 24 * 3600, 4: 40 * 3600, 5: 80 * 3600}


def _fill(engine: Engine, *, count: int, months: int) -> None:
    """Incidents at even intervals over the months before END: one in twenty still open, one
    in ten high impact (an outage), acknowledgements and resolutions varied so percentiles and
    breaches are not trivial."""
    start = END - timedelta(days=30.5 * months)
    step = (END - start) / count
    with engine.begin() as connection:
        for first in range(1, count + 1, CHUNK):
            incidents, timers = [], []
            for number in range(first, min(first + CHUNK, count + 1)):
                created = start + step * (number - 1)
                priority = 1 + number % 5
                is_open = number % 20 == 0
                acked = created + timedelta(seconds=60 + (number * 37) % 7200)
                resolved = (
                    None if is_open else created + timedelta(seconds=600 + (number * 91) % 90000)
                )
                incidents.append(
                    {
                        "id": number,
                        "title": f"Bench incident {number}",
                        "description": "",
                        "impact": "high" if number % 10 == 0 else "medium",
                        "urgency": "medium",
                        "priority": priority,
                        "priority_overridden": False,
                        "status": "in_progress" if is_open else "closed",
                        "service": SERVICES[number % len(SERVICES)] if number % 7 else None,
                        "category": None,
                        "team": "ops",
                        "reporter": "UBENCH",
                        "assignee": "UBENCH",
                        "escalation_level": 0,
                        "created_at": created,
                        "updated_at": created,
                        "acknowledged_at": acked,
                        "resolved_at": resolved,
                        "closed_at": resolved,
                    }
                )
                for target, seconds, stopped in (
                    ("response", RESPONSE_S[priority], acked),
                    ("resolution", RESOLUTION_S[priority], resolved),
                ):
                    due = created + timedelta(seconds=seconds)
                    timers.append(
                        {
                            "record_key": f"INC-{number}",
                            "target": target,
                            "started_at": created,
                            "target_seconds": seconds,
                            "calendar": "24x7",
                            "next_stage": 100,
                            "next_due_at": None,
                            "stopped_at": stopped,
                            "breached_at": due if stopped is None or stopped > due else None,
                            "due_at": due,
                            "updated_at": created,
                        }
                    )
            connection.execute(insert(Incident.__table__), incidents)  # type: ignore[attr-defined]
            connection.execute(insert(SlaTimer.__table__), timers)  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('incident_id_seq', :n)"), {"n": count})
        connection.execute(text("ANALYZE"))


def _prepare(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade_database(engine)
    return engine


def _time_report(db: Database, scope_text: str) -> tuple[float, int]:
    scope = resolve(POLICY, scope_text)
    period = parse_period("2026-10", now=NOW)
    best = float("inf")
    incidents = 0
    for _ in range(3):
        started = time.perf_counter()
        with db.session() as session:
            report = build_report(session, POLICY, scope, period, NOW)
        best = min(best, time.perf_counter() - started)
        incidents = report.current.incidents
    return best, incidents


def run(url: str, *, count: int, months: int, refill: bool = True) -> None:
    if refill:
        engine = _prepare(url)
        started = time.perf_counter()
        _fill(engine, count=count, months=months)
        filled = f"filled in {time.perf_counter() - started:.0f} s"
    else:
        engine = make_engine(url)
        upgrade_database(engine)
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM incident")).scalar_one()
        filled = "kept from an earlier run"
    db = Database(engine)
    for scope_text in ("all", SERVICES[3]):
        seconds, incidents = _time_report(db, scope_text)
        print(
            f"{engine.dialect.name}: {count:,} incidents stored ({months} months, {filled}); report October 2026 for {scope_text}: {incidents:,} incidents in "
            f"the month, built (with September beside it) in {seconds * 1000:.0f} ms (best of 3)"
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
        path = args.sqlite_path or os.path.join(
            tempfile.gettempdir(), "servicedesk_report_bench.db"
        )
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix) and not args.keep:
                os.remove(path + suffix)
        run(f"sqlite:///{path}", count=args.count, months=args.months, refill=not args.keep)
    if args.database_url:
        run(args.database_url, count=args.count, months=args.months, refill=not args.keep)


if __name__ == "__main__":
    main()
