"""The bot against a no-op Bolt app, with 1,000,000 incidents stored: one run, every figure.

    python bench/perf.py                                     # SQLite under /tmp
    python bench/perf.py --database-url postgresql://postgres@127.0.0.1/bench_h10perf

The store (1,000,000 incidents, 2,000,000 SLA timers) is built once with a bulk fill and kept;
later runs reuse it (--refill builds it again). A PostgreSQL database given by URL is emptied
first when it is (re)filled. In one process, on loopback, against the fake Slack (`--slack process` moves the fake out of
this process for the ack latency, as Slack's servers are not in the bot's; by default it is
here, where its work for the bot's calls shares the interpreter with both apps):

1. start-up: building the bot's context and app over the full store;
2. ack latency over HTTP: a no-op Bolt app (every listener only acks,
   process_before_response=True) and the bot, behind the same waitress server, answering an
   interleaved stream of slash commands, button clicks and modal submissions; p50/p95/p99 of
   each and the bot/no-op ratio (ratios travel between machines; milliseconds do not);
3. the SLA sweep firing 300 due stages, `/incident list` and `/incident show`, the type-ahead;
4. lateness: 200 incidents whose 50 % warnings fall due over a minute, sent by the scheduler's
   wake-up, each stage's delay after its due instant (p50, p99, max) (fresh small store);
5. a storm: 200 notifications to one channel, the fake Slack enforcing 1 post/s per channel
   with Retry-After: the time to drain and the number of 429s (fresh small store);
6. peak RSS of the process.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt import App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import func, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bench import sla_sweep  # noqa: E402
from bench.ack_latency import POLICY, SECRET, bench_settings  # noqa: E402
from bench.seeding import prepare  # noqa: E402
from bot.app_factory import build_context  # noqa: E402
from bot.bootstrap import prepare_store  # noqa: E402
from bot.db import Database, make_engine, normalise_url  # noqa: E402
from bot.gc_settle import freeze_start_up  # noqa: E402
from bot.http import make_server  # noqa: E402
from bot.notifier import Notifier  # noqa: E402
from bot.policy import parse_policy  # noqa: E402
from composition import create_app  # noqa: E402
from models.incident import Incident, IncidentInput, Level  # noqa: E402
from models.notification import Notification  # noqa: E402
from models.policy import Policy  # noqa: E402
from schedules.scheduler import build_scheduler, sweep_sla  # noqa: E402
from schedules.wakeup import Wakeup  # noqa: E402
from services import audit, cmdb, incident_sla, incidents, notifications, sla_timers  # noqa: E402
from services.clock import SystemClock  # noqa: E402
from slackstub import FakeSlack  # noqa: E402
from slackstub import requests as slack_requests  # noqa: E402

SUBMITTED = "Bench submission"  # the title of the incidents the modal submissions log
DUE = 300  # SLA stages the sweep fires (incidents 1..300, response 50 %)


# ---- figures -----------------------------------------------------------------------------


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


def line(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<34} p50 {ms(pct(samples, 50))}  p95 {ms(pct(samples, 95))}  "
        f"p99 {ms(pct(samples, 99))} ms  (n={len(samples)})"
    )


# ---- the store ---------------------------------------------------------------------------


def ensure_store(url: str, *, count: int, refill: bool) -> Database:
    engine = make_engine(url)
    stored = 0
    if not refill:
        try:
            with engine.connect() as connection:
                stored = connection.execute(text("SELECT count(*) FROM incident")).scalar_one()
        except Exception:  # noqa: BLE001 - no table yet: fill
            stored = 0
    if stored < count:
        engine.dispose()
        started = time.perf_counter()
        if engine.dialect.name == "sqlite" and engine.url.database:
            # A smaller store from an earlier run is replaced, not filled on top of.
            for suffix in ("", "-wal", "-shm"):
                Path(engine.url.database + suffix).unlink(missing_ok=True)
        engine = prepare(url)
        sla_sweep._fill(engine, count=count, due=DUE)
        print(f"filled {count:,} incidents in {time.perf_counter() - started:.0f} s")
    db = Database(engine)
    db.upgrade()  # a store kept from an older version gets this version's schema
    return db


def reset_due(db: Database) -> None:
    """Put the 300 due timers back as the fill left them, so every run sweeps the same."""
    keys = [f"INC-{n}" for n in range(1, DUE + 1)]
    due_at = sla_sweep.NOW - timedelta(minutes=10)
    with db.session() as session:
        session.execute(
            text("DELETE FROM notification WHERE kind = 'sla' AND record_key IN :keys").bindparams(
                _expanding("keys")
            ),
            {"keys": keys},
        )
        table = sla_timers.SlaTimer.__table__  # type: ignore[attr-defined]
        session.execute(
            table.update()
            .where(table.c.record_key.in_(keys), table.c.target == "response")
            .values(next_stage=50, next_due_at=due_at, breached_at=None, stopped_at=None)
        )


def _expanding(name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


# ---- the two apps ------------------------------------------------------------------------


class SlackProcess:
    """The fake Slack in a process of its own (`python -m slackstub --quiet`): the bot's Slack
    calls cost the bench's process what calls to Slack cost a bot, not Slack's work too."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "slackstub", "--quiet"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        first = self._process.stdout.readline() if self._process.stdout else ""
        found = re.search(r"SLACK_API_URL=(\S+)", first)
        if not found:
            self._process.kill()
            raise SystemExit(f"the fake Slack did not start: {first!r}")
        self.url = found.group(1)
        self.origin = self.url.removesuffix("/api/")
        self._responses = iter(range(1, 1 << 62))

    def response_url(self) -> str:
        return f"{self.origin}/response/bench-{next(self._responses)}"

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


def noop_app(fake: FakeSlack | SlackProcess) -> App:
    """What Bolt costs by itself: every request acked by a listener that does nothing else."""
    app = App(
        client=WebClient(token="xoxb-bench", base_url=fake.url),
        signing_secret=SECRET,
        process_before_response=True,
        token_verification_enabled=False,
    )
    anything = re.compile(".*")

    @app.command(anything)
    def command(ack):  # type: ignore[no-untyped-def]
        ack()

    @app.action(anything)
    def action(ack):  # type: ignore[no-untyped-def]
        ack()

    @app.view(anything)
    def view(ack):  # type: ignore[no-untyped-def]
        ack()

    @app.options(anything)
    def options(ack):  # type: ignore[no-untyped-def]
        ack(options=[])

    return app


def serve(app: App, db: Database) -> tuple[object, str]:
    server = make_server(app, db, host="127.0.0.1", port=0)
    threading.Thread(target=server.run, daemon=True).start()  # type: ignore[attr-defined]
    return server, f"http://127.0.0.1:{server.effective_port}/slack/events"  # type: ignore[attr-defined]


def post(endpoint: str, body: str) -> float:
    headers = slack_requests.sign(body, SECRET)
    request = urllib.request.Request(endpoint, data=body.encode(), headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return time.perf_counter() - started


def requests_for(fake: FakeSlack | SlackProcess, count: int) -> dict[str, Callable[[int], str]]:
    view = {"id": "V0", "type": "modal", "callback_id": "incident_new", "private_metadata": ""}

    def command(n: int) -> str:
        return slack_requests.slash_command(
            "/incident",
            "list" if n % 2 else f"show INC-{1 + n * 997 % count}",
            response_url=fake.response_url(),
        )

    def click(n: int) -> str:
        # A closed incident: the bot acks, then refuses politely after the ack.
        return slack_requests.block_actions(
            user_id="U1",
            channel_id="C0INCIDENTS",
            message={"ts": "1.1", "blocks": []},
            actions=[
                {
                    "type": "button",
                    "action_id": "incident_acknowledge",
                    "block_id": "b",
                    "value": '{"key":"INC-' + str(1 + (n * 7919) % count | 1) + '"}',
                    "action_ts": "1",
                }
            ],
            response_url=fake.response_url(),
        )

    def submit(n: int) -> str:
        values = {
            "title": {"title": {"type": "plain_text_input", "value": f"{SUBMITTED} {n}"}},
            "impact": {"impact": {"type": "static_select", "selected_option": {"value": "low"}}},
            "urgency": {"urgency": {"type": "static_select", "selected_option": {"value": "low"}}},
        }
        return slack_requests.view_submission(
            user_id="U1", view=view | {"id": f"VB{time.time_ns()}-{n}"}, values=values
        )

    return {"slash command": command, "button click": click, "modal submission": submit}


WARM_UP = 20


def _submitted(session) -> int:  # type: ignore[no-untyped-def]
    return session.exec(
        select(func.count()).select_from(Incident).where(col(Incident.title).startswith(SUBMITTED))
    ).one()


def ack_latency(
    bot: str, noop: str, fake: FakeSlack | SlackProcess, *, n: int, count: int
) -> dict[str, float]:
    kinds = requests_for(fake, count)
    for warm in range(WARM_UP):
        for make in kinds.values():
            post(bot, make(warm))
            post(noop, make(warm))
    samples: dict[str, dict[str, list[float]]] = {k: {"bot": [], "noop": []} for k in kinds}
    for i in range(n):
        for kind, make in kinds.items():
            # Alternate which goes first so that neither always meets a warmer cache.
            order = (("bot", bot), ("noop", noop)) if i % 2 else (("noop", noop), ("bot", bot))
            for who, endpoint in order:
                samples[kind][who].append(post(endpoint, make(i)))
    ratios = {}
    print(f"ack latency over HTTP (waitress), {n} of each, interleaved:")
    for kind, found in samples.items():
        print(line(f"{kind}, no-op Bolt", found["noop"]))
        print(line(f"{kind}, bot", found["bot"]))
        ratio = pct(found["bot"], 99) / pct(found["noop"], 99)
        ratios[kind] = ratio
        print(
            f"  {kind:<34} bot/no-op at p99: {ratio:.2f}x  "
            f"(p50 {statistics.median(found['bot']) / statistics.median(found['noop']):.2f}x)"
        )
    return ratios


# ---- database-side timings ---------------------------------------------------------------


def timed(work: Callable[[], object], runs: int) -> list[float]:
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        found.append(time.perf_counter() - started)
    return found


def store_timings(db: Database, policy: Policy, count: int) -> None:
    sweeps = []
    cpu = []
    for _ in range(5):
        reset_due(db)
        started, started_cpu = time.perf_counter(), time.thread_time()
        with db.session() as session:
            fired = sla_timers.sweep(session, now=sla_sweep.NOW, policy=policy, limit=1000)
        sweeps.append(time.perf_counter() - started)
        # CPU time of this thread (SQLite works in it; PostgreSQL's own work is not counted):
        # on a machine shared with busy neighbours the wall-clock time says more about them.
        cpu.append(time.thread_time() - started_cpu)
        assert len(fired) == DUE, len(fired)
    print(
        f"SLA sweep firing {DUE} stages (commit included), 5 runs: "
        f"median {ms(statistics.median(sweeps))} ms, max {ms(max(sweeps))} ms; "
        f"CPU in this process: median {ms(statistics.median(cpu))} ms"
    )
    # The per-row sweep it replaced (kept as the tests' reference), on the same data and
    # machine load: the speed-up is the figure that survives a busy machine.
    from tests.sla import per_row_sweep

    old = []
    for _ in range(3):
        reset_due(db)
        started = time.perf_counter()
        with db.session() as session:
            fired = per_row_sweep.sweep(session, now=sla_sweep.NOW, policy=policy, limit=1000)
        old.append(time.perf_counter() - started)
        assert len(fired) == DUE, len(fired)
    print(
        f"  the per-row sweep it replaced, 3 runs: median {ms(statistics.median(old))} ms: "
        f"set-based is {statistics.median(old) / statistics.median(sweeps):.1f}x faster"
    )
    now = datetime.now(UTC)

    def listing() -> None:
        with db.session() as session:
            incidents.list_open(session)

    def show(number: list[int] = [0]) -> None:  # noqa: B006 - a counter across calls
        number[0] += 1
        key = f"INC-{1 + number[0] * 104729 % count}"
        with db.session() as session:
            incident = incidents.get(session, key=key)
            incident_sla.evaluate(session, incident=incident, policy=policy, now=now)
            audit.trail(session, key=key)
            notifications.for_record(session, record_key=key)

    def typeahead(number: list[int] = [0]) -> None:  # noqa: B006
        number[0] += 1
        with db.session() as session:
            cmdb.search(session, text=["pay", "p", "zz", "payments"][number[0] % 4])

    print(line("/incident list (service)", timed(listing, 200)))
    print(line("/incident show (service)", timed(show, 200)))
    print(line("type-ahead (service)", timed(typeahead, 200)))


# ---- lateness and the storm --------------------------------------------------------------


def small_store(url: str | None, folder: Path, name: str) -> Database:
    if url and make_url(normalise_url(url)).get_backend_name() == "postgresql":
        engine = prepare(url)
        return Database(engine)
    for suffix in ("", "-wal", "-shm"):  # a fresh store each run
        (folder / (name + suffix)).unlink(missing_ok=True)
    db = Database.from_url(f"sqlite:///{folder / name}")
    db.upgrade()
    return db


def lateness(db: Database, fake: FakeSlack, *, count: int, spread: float) -> None:
    """`count` incidents whose response 50 % falls due over `spread` seconds from now, each
    for a different assignee (so no two share a DM channel); the bot's scheduler with its
    wake-up sends them. Lateness = when the fake Slack got the post − the stage's instant."""
    policy = Policy()
    clock = SystemClock()
    client = WebClient(token="xoxb-bench", base_url=fake.url)
    notifier = Notifier(client, db, clock)
    scheduler = build_scheduler(
        db=db, clock=clock, policy=policy, notifier=notifier, interval_seconds=30
    )
    wakeup = Wakeup(
        scheduler, db, lambda: (sweep_sla(db=db, clock=clock, policy=policy), notifier.send_due())
    )
    db.after_commit.append(wakeup.deadline_noted)
    fake.reset()
    scheduler.start()
    start = datetime.now(UTC) + timedelta(seconds=20)  # logging 200 takes a while
    half = timedelta(minutes=30)  # P2: response 1 h, so 50 % is 30 min after logging
    data = IncidentInput(title="Late?", impact=Level.HIGH, urgency=Level.MEDIUM)
    due: dict[str, datetime] = {}
    for n in range(count):
        instant = start + timedelta(seconds=spread * n / count)
        with db.session() as session:
            incident, _ = incidents.create(
                session, data=data, reporter="UREP", now=instant - half, policy=policy
            )
            incident.assignee = f"U{n:05d}"
            due[incident.key] = instant
    deadline = time.time() + spread + 60
    while time.time() < deadline and len(fake.calls("chat.postMessage")) < count:
        time.sleep(0.2)
    scheduler.shutdown(wait=False)
    db.after_commit.clear()
    late = []
    with db.session() as session:
        rows = session.exec(select(Notification).where(Notification.kind == "sla")).all()
    posted = {}
    for call in fake.calls("chat.postMessage"):
        posted.setdefault(call.args.get("text", ""), call.at)
    for row in rows:
        at = posted.get(row.text)
        if at is not None and row.record_key in due:
            late.append(at - due[row.record_key].timestamp())
    if not late:
        print("lateness: nothing was sent")
        return
    print(
        f"lateness of {len(late)}/{count} warnings falling due over {spread:.0f} s "
        f"(wake-up + 30 s interval): p50 {ms(pct(late, 50))} ms  p99 {ms(pct(late, 99))} ms  "
        f"max {ms(max(late))} ms"
    )


def storm(db: Database, fake: FakeSlack, *, count: int) -> None:
    clock = SystemClock()
    client = WebClient(token="xoxb-bench", base_url=fake.url)
    notifier = Notifier(client, db, clock)
    policy = Policy()
    scheduler = build_scheduler(
        db=db, clock=clock, policy=policy, notifier=notifier, interval_seconds=30
    )
    wakeup = Wakeup(scheduler, db, notifier.send_due)
    db.after_commit.append(wakeup.deadline_noted)
    fake.reset()
    # Slack's pace: one post a second per channel after a short burst (the notifier's 3).
    fake.rate_limit_posts(per_second=1.0, burst=notifier.burst)
    now = clock.now()
    scheduler.start()
    started = time.time()
    with db.session() as session:
        notifications.schedule_many(
            session,
            [
                notifications.row(
                    record_key=f"INC-{n}",
                    kind="sla",
                    stage="response:100",
                    recipient="C0STORM",
                    due_at=now,
                    text=f"storm {n}",
                )
                for n in range(count)
            ],
        )
    deadline = started + count * 1.5 + 30
    while time.time() < deadline:
        with db.session() as session:
            left = session.exec(
                select(func.count()).select_from(Notification).where(Notification.status != "sent")
            ).one()
        if left == 0:
            break
        time.sleep(0.5)
    drained = time.time() - started
    scheduler.shutdown(wait=False)
    db.after_commit.clear()
    calls = fake.calls("chat.postMessage")
    refused = sum(1 for call in calls if call.failed)
    print(
        f"storm: {count} posts to one channel, fake Slack at 1/s per channel "
        f"(burst {notifier.burst}): "
        f"{len(calls) - refused} delivered in {drained:.1f} s, {refused} answered 429"
    )
    fake.rate_limit_posts(None)


# ---- the run -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--fill-only", action="store_true", help="build the store and stop")
    parser.add_argument("--late", type=int, default=200, help="incidents for lateness; 0 skips")
    parser.add_argument("--storm", type=int, default=200, help="storm size; 0 skips")
    parser.add_argument(
        "--slack",
        choices=("process", "inline"),
        default="inline",
        help="the fake Slack for the ack latency: this process (default) or its own",
    )
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / "servicedesk-bench"
    folder.mkdir(exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'perf-1m.db'}"
    backend = make_url(normalise_url(url)).get_backend_name()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}; store: {backend}")
    db = ensure_store(url, count=args.count, refill=args.refill)
    with db.session() as session:
        stored = session.exec(select(func.count()).select_from(Incident)).one()
    print(f"stored: {stored:,} incidents")
    if args.fill_only:
        return
    with FakeSlack() as fake:
        slack = SlackProcess() if args.slack == "process" else fake
        print(f"the fake Slack for the ack latency: {args.slack}")
        started = time.perf_counter()
        settings = bench_settings(slack, url)  # type: ignore[arg-type]
        pool = ThreadPoolExecutor(max_workers=4)
        ctx = build_context(settings, parse_policy(POLICY), db, background=pool)
        prepare_store(db, ctx.policy, ctx.clock)
        bot_app = create_app(ctx)
        print(f"start-up (context, store check, app): {time.perf_counter() - started:.2f} s")
        bot_server, bot = serve(bot_app, db)
        noop_server, noop = serve(noop_app(slack), db)
        # As the bot does once started (bot/cli.py): what start-up built is frozen out of the
        # collector's full collections, which would otherwise walk it all, a request waiting.
        before = _full_collection_ms()
        frozen = freeze_start_up()
        print(
            f"a full garbage collection after start-up: {before:.1f} ms; "
            f"after freezing {frozen:,} start-up objects: {_full_collection_ms():.1f} ms"
        )
        with db.session() as session:
            before = _submitted(session)
        ratios = ack_latency(bot, noop, slack, n=args.requests, count=args.count)
        pool.shutdown(wait=True)
        if isinstance(slack, SlackProcess):
            slack.stop()
        with db.session() as session:
            logged = _submitted(session) - before
        # A submission the bot refused or failed would be cheaper than one it logged.
        expected = args.requests + WARM_UP
        print(f"  the bot logged {logged} of {expected} submitted incidents")
        if logged != expected:
            raise SystemExit("some submissions were not logged: the figures above are not valid")
        bot_server.close()  # type: ignore[attr-defined]
        noop_server.close()  # type: ignore[attr-defined]
        store_timings(db, ctx.policy, args.count)
        if args.late:
            small = small_store(
                _sibling(url, "late") if backend == "postgresql" else None, folder, "late.db"
            )
            lateness(small, fake, count=args.late, spread=60)
            small.dispose()
        if args.storm:
            small = small_store(
                _sibling(url, "storm") if backend == "postgresql" else None, folder, "storm.db"
            )
            storm(small, fake, count=args.storm)
            small.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole run (bot, no-op app, fake Slack): {rss:.0f} MB")
    print("summary: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    db.dispose()


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return 1000 * (time.perf_counter() - started)


def _sibling(url: str, suffix: str) -> str:
    """The same server, a database named `<name>_<suffix>` (created when missing)."""
    parsed = make_url(normalise_url(url))
    name = f"{parsed.database}_{suffix}"
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


if __name__ == "__main__":
    main()
