"""How fast does the bot answer Slack? Prints median and 95th-percentile ack times.

    python bench/ack_latency.py [--requests 300] [--database-url URL]

Runs the real app against the fake Slack Web API on loopback: signed requests are sent
over HTTP to the real waitress server (what Slack sees) and also dispatched in-process
(the Bolt App alone). Measured: a button click (ack, work after), a slash command, a
modal submission that writes the incident before acking, and a type-ahead options request
(answered from the CMDB inside the ack).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app_factory import build_context  # noqa: E402
from bot.bootstrap import prepare_store  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.http import make_server  # noqa: E402
from bot.policy import parse_policy  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from composition import create_app  # noqa: E402
from slackstub import FakeSlack  # noqa: E402
from slackstub import requests as slack_requests  # noqa: E402

SECRET = "b" * 32
POLICY = """
[channels]
incidents = "C0INCIDENTS"
[[teams]]
name = "platform"
[[services]]
name = "payments"
team = "platform"
"""


def bench_settings(fake: FakeSlack, url: str) -> Settings:
    """The bot's settings for a bench run against the fake Slack and the database at `url`."""
    return load_settings(
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.url,
        DATABASE_URL=url,
        _env_file=None,
    )


def summarise(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"  {name:<44} median {statistics.median(samples) * 1000:6.2f} ms   "
        f"p95 {p95 * 1000:6.2f} ms   (n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    db = Database.from_url(url)
    db.upgrade()
    with FakeSlack() as fake:
        settings = bench_settings(fake, url)
        pool = ThreadPoolExecutor(max_workers=8)
        ctx = build_context(settings, parse_policy(POLICY), db, background=pool)
        prepare_store(db, ctx.policy, ctx.clock)  # the policy's services become CMDB items
        app = create_app(ctx)
        server = make_server(app, db, host="127.0.0.1", port=0)
        threading.Thread(target=server.run, daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.effective_port}/slack/events"

        def over_http(body: str) -> float:
            headers = slack_requests.sign(body, SECRET)
            request = urllib.request.Request(endpoint, data=body.encode(), headers=headers)
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            return time.perf_counter() - start

        def in_process(body: str) -> float:
            from slack_bolt import BoltRequest

            headers = slack_requests.sign(body, SECRET)
            start = time.perf_counter()
            app.dispatch(BoltRequest(body=body, headers=headers))
            return time.perf_counter() - start

        click = slack_requests.block_actions(
            user_id="U1",
            channel_id="C0INCIDENTS",
            message={"ts": "1.1", "blocks": []},
            actions=[
                {
                    "type": "button",
                    "action_id": "incident_acknowledge",
                    "block_id": "b",
                    "value": '{"key":"INC-999999"}',
                    "action_ts": "1",
                }
            ],
            response_url=fake.response_url(),
        )
        command = slack_requests.slash_command(
            "/incident", "list", response_url=fake.response_url()
        )
        view = {
            "id": "V0",
            "type": "modal",
            "callback_id": "incident_new",
            "private_metadata": "",
            "blocks": [],
        }

        def submission(n: int) -> str:
            values = {
                "title": {"title": {"type": "plain_text_input", "value": f"Bench incident {n}"}},
                "impact": {
                    "impact": {"type": "static_select", "selected_option": {"value": "low"}}
                },
                "urgency": {
                    "urgency": {"type": "static_select", "selected_option": {"value": "low"}}
                },
            }
            return slack_requests.view_submission(
                user_id="U1", view=view | {"id": f"VB{n}"}, values=values
            )

        for _ in range(20):  # warm up connections and code paths
            over_http(click)
        print(f"servicedesk ack latency ({db.dialect}, {args.requests} requests each)")
        print("over HTTP (waitress + Bolt WSGI adapter), as Slack sees it:")
        summarise("button click (ack, then work)", [over_http(click) for _ in range(args.requests)])
        summarise(
            "/incident list (ack, then answer)", [over_http(command) for _ in range(args.requests)]
        )
        summarise(
            "modal submit (validate + write incident, ack)",
            [over_http(submission(n)) for n in range(args.requests)],
        )
        suggestion = slack_requests.block_suggestion(
            user_id="U1",
            action_id="service",
            block_id="service",
            value="pay",
            view={"id": "V0", "type": "modal", "callback_id": "incident_new"},
        )
        summarise(
            "type-ahead options (answered in the ack)",
            [over_http(suggestion) for _ in range(args.requests)],
        )
        print("in-process App.dispatch (no HTTP):")
        summarise("button click", [in_process(click) for _ in range(args.requests)])
        summarise("modal submit", [in_process(submission(n + 10**6)) for n in range(args.requests)])
        server.close()
        pool.shutdown(wait=True)


if __name__ == "__main__":
    main()
