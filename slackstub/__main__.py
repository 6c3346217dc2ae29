"""Run the fake Slack Web API on its own and watch what a bot calls:

    python -m slackstub            # prints the URL to put in SLACK_API_URL

Every call the bot makes is printed as it arrives. Stop with Ctrl-C. To use the bot without a
workspace, `servicedesk sandbox` is the whole thing: this server with a page, and the bot.
"""

from __future__ import annotations

import json
import time

from slackstub import FakeSlack


def main() -> None:
    with FakeSlack() as fake:
        print(f"fake Slack Web API listening: SLACK_API_URL={fake.url}", flush=True)
        seen = 0
        try:
            while True:
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
