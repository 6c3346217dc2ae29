"""The `servicedesk` command: run the bot (default), or administer the store."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.admin_commands import add_store_parsers, database_from_env, run_store_command
from bot.db import Database
from bot.gc_settle import freeze_start_up
from bot.policy import PolicyError, load_policy
from bot.settings import WHERE_TO_FIND, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from slack_bolt import App

    from bot.capacity_http import CapacityEndpoint
    from bot.context import AppContext

log = logging.getLogger("servicedesk")


class _RedactTokens(logging.Filter):
    """Belt and braces: no log line ever carries a Slack token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if re.search(r"xox[abpre]-|xapp-", message):
            record.msg = re.sub(r"(xox[abpre]|xapp)-[A-Za-z0-9-]+", r"\1-***", message)
            record.args = ()
        return True


def configure_logging(level: str, fmt: str = "plain", secrets: tuple[str, ...] = ()) -> None:
    """Plain lines or JSON objects (bot.logs), tokens and `secrets` masked in both."""
    from bot import logs

    logs.configure_logging(level, fmt, secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactTokens())


# Built above bot/ (composition.py): the app with every kind's listeners, and the scheduler.
CreateApp = Callable[["AppContext"], "App"]
StartScheduler = Callable[["AppContext"], "BackgroundScheduler"]


def run(create_app: CreateApp, start_scheduler: StartScheduler) -> int:
    """Start the bot: migrate, then Socket Mode when SLACK_APP_TOKEN is set, else HTTP."""
    from bot.app_factory import build_context
    from bot.bootstrap import prepare_store

    settings = load_settings()
    configure_logging(
        settings.log_level,
        settings.log_format,
        (
            settings.slack_bot_token.get_secret_value(),
            settings.slack_signing_secret.get_secret_value(),
            *((settings.capacity_token.get_secret_value(),) if settings.capacity_token else ()),
        ),
    )
    policy = load_policy(settings.servicedesk_config)
    check_token(settings)
    db = Database.from_url(settings.database_url)
    db.upgrade()
    ctx = build_context(settings, policy, db)
    prepare_store(db, policy, ctx.clock)
    ctx.background.submit(ctx.directory.warm, policy)
    app = create_app(ctx)
    # HOST:PORT serves /metrics, /healthz and /capacity/… in both modes (and Slack in HTTP mode).
    listener: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "metrics": ctx.metrics,
        "capacity": capacity_endpoint(ctx),
    }
    scheduler = None
    if settings.run_scheduler:
        scheduler = start_scheduler(ctx)
    frozen = freeze_start_up()
    log.info("start-up objects kept out of the garbage collector's full collections: %d", frozen)
    # A container stop (SIGTERM) ends the process like Ctrl-C: the finally below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            from bot.http import serve_in_background

            # No Slack requests over HTTP in Socket Mode, but /metrics and /healthz still are.
            serve_in_background(None, db, **listener)
            log.info(
                "connecting to Slack in Socket Mode; /metrics on http://%s:%s",
                settings.host,
                settings.port,
            )
            SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        else:
            from bot.http import serve

            log.info(
                "serving Slack requests on http://%s:%s/slack/events", settings.host, settings.port
            )
            serve(app, db, **listener)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        # Let work already acknowledged to Slack (messages, pages) finish before exiting.
        ctx.background.shutdown(wait=True)
        log.info("servicedesk stopped")
    return 0


def capacity_endpoint(ctx: AppContext) -> CapacityEndpoint:
    """POST /capacity/<item>/<metric>, with the token from CAPACITY_TOKEN (none: refused)."""
    from bot.capacity_http import CapacityEndpoint

    token = ctx.settings.capacity_token
    return CapacityEndpoint(
        db=ctx.db,
        policy=ctx.policy,
        clock=ctx.clock,
        token=token.get_secret_value() if token is not None else None,
    )


# What auth.test answers when the token itself is the problem (Slack's documented errors);
# anything else (rate limits, Slack's own faults) is not a reason to refuse to start.
TOKEN_REFUSED = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "team_disabled",
}


def check_token(settings: Settings) -> None:
    """Ask Slack whether SLACK_BOT_TOKEN works (auth.test) before serving anything: a wrong
    token stops start-up with SettingsError (exit status 2) naming the variable, never its
    value. When Slack cannot be reached the bot starts anyway, with a warning: an outage
    should not keep it down once Slack is back."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=5,
    )
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        reason = str(error.response.get("error") or f"HTTP {error.response.status_code}")
        if reason in TOKEN_REFUSED:
            raise SettingsError(
                f"servicedesk cannot start: Slack refused SLACK_BOT_TOKEN ({reason}).\n"
                f"  Find the current token in your Slack app settings: "
                f"{WHERE_TO_FIND['SLACK_BOT_TOKEN']}.\n"
                "Set it in the environment or in a .env file (see .env.example)."
            ) from None
        log.warning("Slack answered the token check with %s; starting anyway", reason)
        return
    except Exception as error:
        log.warning(
            "could not reach Slack at %s to check SLACK_BOT_TOKEN (%s); starting anyway",
            settings.slack_api_url,
            error,
        )
        return
    log.info("SLACK_BOT_TOKEN works: bot %s in %s", answer.get("user"), answer.get("team"))


def main(
    argv: list[str] | None = None,
    *,
    create_app: CreateApp | None = None,
    start_scheduler: StartScheduler | None = None,
    run_sandbox: Callable[[argparse.Namespace], int] | None = None,
) -> int:
    """The command line. Running the bot needs the app and scheduler built above bot/
    (composition.main passes them); the other sub-commands do not."""
    parser = argparse.ArgumentParser(prog="servicedesk", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    db_parser = sub.add_parser("db", help="the store")
    db_parser.add_argument("action", choices=["upgrade"], help="apply pending migrations")
    add_store_parsers(sub)
    sandbox_parser = sub.add_parser(
        "sandbox", help="try the desk in a browser: a stand-in Slack and the bot, on loopback"
    )
    sandbox_parser.add_argument("--seed", action="store_true", help="add a month of records")
    sandbox_parser.add_argument(
        "--db", default=None, help="keep the data in this SQLite file (default: a fresh one)"
    )
    sandbox_parser.add_argument("--port", type=int, default=8025, help="the page's port")
    args = parser.parse_args(argv)
    try:
        if args.command == "db":
            database_from_env().upgrade()
            print("database is up to date")
            return 0
        done = run_store_command(args)
        if done is not None:
            return done
        if args.command == "sandbox":
            if run_sandbox is None:
                raise TypeError("the sandbox needs composition.main (servicedesk sandbox)")
            return run_sandbox(args)
        if create_app is None or start_scheduler is None:
            raise TypeError("running the bot needs composition.main (python app.py)")
        return run(create_app, start_scheduler)
    except (SettingsError, PolicyError) as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
