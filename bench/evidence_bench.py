"""How long the auditor's evidence pack takes for a year with a million incidents stored.

    python -m bench.evidence_bench
    python -m bench.evidence_bench --database-url postgresql+psycopg://postgres@127.0.0.1/bench_ev --count 100000

Fills `--count` incidents (each with its response and resolution timers; the seeding of
bench/report_bench.py, in bench/seeding.py) spread over 2026, then times
`servicedesk evidence --from 2026-01-01 --to 2026-12-31` (every CSV, the twelve monthly
reports, availability over the year, the chain check, the zip) and prints the time, the
largest files and their rows. The SQLite store is a fresh file under the temp directory; a
PostgreSQL database given by URL is emptied.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench.seeding import POLICY, sqlite_path, store
from bot.db import Database
from services import evidence

NOW = datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)
GOAL_S = 30.0


def _time_pack(db: Database) -> tuple[float, float, evidence.Pack, Path]:
    """One pack of 2026 into a fresh temp directory: wall and CPU seconds, the pack."""
    out = Path(tempfile.mkdtemp(prefix="servicedesk_evidence_bench_"))
    started, started_cpu = time.perf_counter(), time.process_time()
    with db.session() as session:
        pack = evidence.write_pack(
            session,
            policy=POLICY,
            first=date(2026, 1, 1),
            last=date(2026, 12, 31),
            out_dir=out,
            now=NOW,
        )
    return time.perf_counter() - started, time.process_time() - started_cpu, pack, out


def run(url: str, *, count: int, refill: bool = True) -> None:
    engine, count, filled = store(url, count=count, months=12, end=END, refill=refill)
    db = Database(engine)
    wall, cpu, pack, out = _time_pack(db)
    size = pack.zip_path.stat().st_size
    verdict = "within" if wall <= GOAL_S else "OVER"
    print(
        f"{engine.dialect.name}: {count:,} incidents stored ({filled}); evidence pack for 2026 "
        f"written in {wall:.1f} s wall, {cpu:.1f} s CPU in this process ({verdict} the "
        f"{GOAL_S:g} s goal); {pack.rows.get('8.1-incidents.csv', 0):,} incident rows, "
        f"{pack.rows.get('6.2-reports/', 0)} report files, zip {size / 2**20:.0f} MiB"
    )
    shutil.rmtree(out, ignore_errors=True)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="also run on this PostgreSQL")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--keep", action="store_true", help="time against the databases of an earlier run"
    )
    args = parser.parse_args()
    if not args.skip_sqlite:
        path = sqlite_path("servicedesk_evidence_bench.db", keep=args.keep)
        run(f"sqlite:///{path}", count=args.count, refill=not args.keep)
    if args.database_url:
        run(args.database_url, count=args.count, refill=not args.keep)


if __name__ == "__main__":
    main()
