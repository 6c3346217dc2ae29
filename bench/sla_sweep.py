"""How long one SLA sweep takes with many incidents stored and a few hundred timers due.

    python -m bench.sla_sweep --count 100000
    python -m bench.sla_sweep --count 100000 --database-url postgresql://postgres@127.0.0.1/bench

The SQLite store is a fresh file; a PostgreSQL database given by URL is emptied first.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, text
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)
from bench.seeding import prepare
from bot.db import Database
from models.incident import Incident
from models.notification import Notification
from models.policy import Policy
from models.sla_timer import SlaTimer
from services import sla_timers

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
CHUNK = 20_000


def _fill(engine: Engine, *, count: int, due: int) -> None:
    """`count` incidents with both timers: most closed long ago (timers stopped), some open
    with deadlines ahead, and `due` whose next stage has just come due."""
    open_every = 10  # one incident in ten is still open
    with engine.begin() as connection:
        for first in range(1, count + 1, CHUNK):
            ids = range(first, min(first + CHUNK, count + 1))
            incidents, timers = [], []
            for number in ids:
                is_due = number <= due
                is_open = is_due or number % open_every == 0
                created = NOW - timedelta(minutes=40 if is_due else 5 + number % 60)
                incidents.append(
                    {
                        "id": number,
                        "title": f"Bench incident {number}",
                        "description": "",
                        "impact": "high",
                        "urgency": "medium",
                        "priority": 2,
                        "priority_overridden": False,
                        "status": "in_progress" if is_open else "closed",
                        "service": None,
                        "category": None,
                        "team": None,
                        "reporter": "UBENCH",
                        "assignee": "UBENCH",
                        "escalation_level": 0,
                        "created_at": created,
                        "updated_at": created,
                        "acknowledged_at": created if not is_due else None,
                        "resolved_at": None if is_open else created + timedelta(hours=1),
                    }
                )
                for target, seconds in (("response", 3600), ("resolution", 8 * 3600)):
                    if is_due and target == "response":
                        next_due = created + timedelta(seconds=seconds / 2)  # 50 %, passed
                    elif is_open and target == "resolution":
                        next_due = created + timedelta(seconds=seconds / 2)
                    else:
                        next_due = None
                    timers.append(
                        {
                            "record_key": f"INC-{number}",
                            "target": target,
                            "started_at": created,
                            "target_seconds": seconds,
                            "calendar": "24x7",
                            "next_stage": 50,
                            "next_due_at": next_due,
                            "stopped_at": None if next_due else created,
                            "breached_at": None,
                            "updated_at": created,
                        }
                    )
            connection.execute(insert(Incident.__table__), incidents)  # type: ignore[attr-defined]
            connection.execute(insert(SlaTimer.__table__), timers)  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('incident_id_seq', :n)"), {"n": count})
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))


def run(url: str, *, count: int, due: int) -> None:
    engine = prepare(url)
    started = time.perf_counter()
    _fill(engine, count=count, due=due)
    filled = time.perf_counter() - started
    db = Database(engine)
    policy = Policy()
    with db.session() as session:
        due_now = session.exec(  # type: ignore[call-overload]
            text("SELECT count(*) FROM sla_timer WHERE next_due_at <= :now"),
            params={
                "now": NOW if engine.dialect.name == "postgresql" else NOW.replace(tzinfo=None)
            },
        ).one()[0]
    started = time.perf_counter()
    with db.session() as session:
        fired = sla_timers.sweep(session, now=NOW, policy=policy, limit=1000)
    first = time.perf_counter() - started
    started = time.perf_counter()
    with db.session() as session:
        again = sla_timers.sweep(session, now=NOW, policy=policy, limit=1000)
    second = time.perf_counter() - started
    with db.session() as session:
        queued = session.exec(  # type: ignore[call-overload]
            text(f"SELECT count(*) FROM {Notification.__tablename__}")
        ).one()[0]
    print(
        f"{engine.dialect.name}: {count:,} incidents ({2 * count:,} timers) filled in "
        f"{filled:.1f} s; {due_now} timers due; sweep fired {len(fired)} stages "
        f"({queued} notifications queued) in {first * 1000:.0f} ms; "
        f"next sweep (nothing due) {len(again)} in {second * 1000:.1f} ms"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="also run on this PostgreSQL")
    parser.add_argument("--sqlite-path", default=None)
    args = parser.parse_args()
    path = args.sqlite_path or os.path.join(tempfile.gettempdir(), "servicedesk_sla_bench.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    SQLModel.metadata  # noqa: B018  (tables registered by the models import)
    run(f"sqlite:///{path}", count=args.count, due=args.due)
    if args.database_url:
        run(args.database_url, count=args.count, due=args.due)


if __name__ == "__main__":
    main()
