"""Type-ahead timing: fill a database with 50,000 configuration items and time `cmdb.search`.

python bench/typeahead.py            # SQLite in a temporary file
DATABASE_URL=postgresql+psycopg://… python bench/typeahead.py   # also PostgreSQL
                                      (the database's tables are replaced)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from bot.db import Database, make_engine, upgrade_database  # noqa: E402
from models.cmdb import ConfigItem  # noqa: E402
from services import cmdb  # noqa: E402

COUNT = 50_000
QUERIES = ["h", "host-0", "host-4999", "db-1", "pay", "st-123", "zzz"]
KINDS = ["server", "database", "application", "service", "network"]


def _fill(db: Database) -> None:
    now = datetime.now(UTC)
    prefixes = ["host", "db", "app", "svc", "switch"]
    rows = [
        {
            "name": f"{prefixes[n % 5]}-{n:05d}",
            "name_lower": f"{prefixes[n % 5]}-{n:05d}",
            "type": KINDS[n % 5],
            "status": "live",
            "attributes": "{}",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(COUNT)
    ]
    with db.session() as session:
        session.execute(insert(ConfigItem), rows)
    if db.dialect == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE config_item"))


def _time(db: Database, label: str) -> None:
    print(f"{label}: {COUNT} items")
    with db.session() as session:
        cmdb.search(session, text="warm")
        for query in QUERIES:
            runs = 20
            started = time.perf_counter()
            for _ in range(runs):
                found = cmdb.search(session, text=query)
            ms = (time.perf_counter() - started) * 1000 / runs
            print(f"  {query!r:14} {len(found):3} results  {ms:7.2f} ms/query")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade_database(engine)
        db = Database(engine)
        _fill(db)
        _time(db, "SQLite")
        db.dispose()
    url = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgres"):
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade_database(engine)
        db = Database(engine)
        _fill(db)
        _time(db, "PostgreSQL")
        db.dispose()


if __name__ == "__main__":
    main()
