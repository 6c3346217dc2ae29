"""Send one signed slash command to a running bot, as Slack would:

    python -m slackstub.send /incident "Mail is down"   [--url http://127.0.0.1:3000]

The signing secret is read from SLACK_SIGNING_SECRET (or .env). The command's answer, and
every Web API call the bot makes, show up where `python -m slackstub` is running.
"""

from __future__ import annotations

import argparse
import os
import urllib.request

from dotenv import dotenv_values

from slackstub.requests import sign, slash_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("text", nargs="?", default="")
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--user", default="U0TRYIT")
    args = parser.parse_args()
    secret = os.environ.get("SLACK_SIGNING_SECRET") or dotenv_values(".env").get(
        "SLACK_SIGNING_SECRET"
    )
    if not secret:
        raise SystemExit("set SLACK_SIGNING_SECRET (the same value the bot uses)")
    body = slash_command(args.command, args.text, user_id=args.user)
    request = urllib.request.Request(
        args.url.rstrip("/") + "/slack/events", data=body.encode(), headers=sign(body, secret)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        print(response.status, response.read().decode() or "(acknowledged)")


if __name__ == "__main__":
    main()
