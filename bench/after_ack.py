"""Does the work after an ack slow the ack itself? Prints p50/p90/p99 and ratios.

    python bench/after_ack.py [--requests 200] [--gap-ms 25] [--database-url URL]

New-incident modal submissions go over HTTP (waitress, the bot's own server) one at a time,
`--gap-ms` apart so that each one's work after the ack (the announcement: the channel
message, its thread's first step, the permalink, the reporter's DM) is over before the next
request; in turns to three apps in one process against the fake Slack:

- a no-op Bolt app (acks, nothing else), the yardstick of bench/perf.py;
- the bot as it runs, its after-ack work handed to a thread pool;
- the bot with that work dropped (an executor that discards it): what the ack costs alone.

With the after-ack work held until the answer is out (bot/context.py HeldWork), the second
and third should be alike; the last line prints their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ack_latency import bench_settings  # noqa: E402
from bench.perf import POLICY, noop_app, pct, post, requests_for, serve  # noqa: E402
from bot.app_factory import build_context  # noqa: E402
from bot.bootstrap import prepare_store  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.policy import parse_policy  # noqa: E402
from composition import create_app  # noqa: E402
from slackstub import FakeSlack  # noqa: E402


class Discard(Executor):
    """Takes work and never runs it: the bot's ack without anything after it."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.cancel()
        return future


def bot(url: str, fake: FakeSlack, background: Executor) -> tuple[object, str]:
    db = Database.from_url(url)
    db.upgrade()
    ctx = build_context(bench_settings(fake, url), parse_policy(POLICY), db, background=background)
    prepare_store(db, ctx.policy, ctx.clock)
    return serve(create_app(ctx), db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=25.0)
    parser.add_argument(
        "--database-url", default=None, help="an empty database (default: a new SQLite file)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{folder / 'after-ack.db'}"
    pool = ThreadPoolExecutor(max_workers=4)
    store = Database.from_url(url)  # the no-op's /healthz and the dialect printed below
    with FakeSlack() as fake:
        servers = {
            "no-op Bolt app": serve(noop_app(fake), store),
            "bot, work after the ack": bot(url, fake, pool),
            "bot, no work after the ack": bot(url, fake, Discard()),
        }
        submit = requests_for(fake, 1)["modal submission"]
        samples: dict[str, list[float]] = {name: [] for name in servers}
        warm_up = 20
        for n in range(warm_up + args.requests):
            for name, (_server, endpoint) in servers.items():
                took = post(endpoint, submit(n))
                if n >= warm_up:
                    samples[name].append(took)
                time.sleep(args.gap_ms / 1000)
        pool.shutdown(wait=True)
        for server, _endpoint in servers.values():
            server.close()  # type: ignore[attr-defined]
    print(
        f"new-incident submissions over HTTP, {args.requests} each, {args.gap_ms:.0f} ms apart, "
        f"in turns ({store.dialect}):"
    )
    for name, found in samples.items():
        print(
            f"  {name:<28} p50 {1000 * statistics.median(found):6.2f}  "
            f"p90 {1000 * pct(found, 90):6.2f}  p99 {1000 * pct(found, 99):6.2f} ms"
        )
    with_work, alone = samples["bot, work after the ack"], samples["bot, no work after the ack"]
    noop = samples["no-op Bolt app"]
    print(
        f"bot/no-op at p50: {statistics.median(with_work) / statistics.median(noop):.2f}x; "
        f"with/without the work after the ack: p50 "
        f"{statistics.median(with_work) / statistics.median(alone):.2f}x, p90 "
        f"{pct(with_work, 90) / pct(alone, 90):.2f}x"
    )


if __name__ == "__main__":
    main()
