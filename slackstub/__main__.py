"""Run the fake Slack Web API on its own and watch what a bot calls:

    python -m slackstub            # prints the URL to put in SLACK_API_URL

Every call the bot makes is printed as it arrives (`--quiet`: only the URL, for a bench that
wants Slack's side out of its own process). Stop with Ctrl-C or SIGTERM. To use the bot without a
workspace, `servicedesk sandbox` is the whole thing: this server with a page, and the bot.
"""

from __future__ import annotations

import argparse
import json
import signal
import time

from slackstub import FakeSlack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print only the URL")
    quiet = parser.parse_args().quiet
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with FakeSlack() as fake:
        print(f"fake Slack Web API listening: SLACK_API_URL={fake.url}", flush=True)
        seen = 0
        try:
            while True:
                if quiet:
                    time.sleep(3600)
                    continue
                calls = fake.calls()
                for call in calls[seen:]:
                    args = {k: v for k, v in call.args.items() if k != "token"}
                    print(f"{call.method} {json.dumps(args, default=str)[:400]}", flush=True)
                seen = len(calls)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
