"""The `servicedesk` command: run the bot (default), or administer the store."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.db import Database
from bot.policy import PolicyError, load_policy
from bot.settings import SettingsError, load_settings

log = logging.getLogger("servicedesk")


class _RedactTokens(logging.Filter):
    """Belt and braces: no log line ever carries a Slack token."""

    def filter(self, record: logging.LogRecord) -> bool:
        import re

        message = record.getMessage()
        if re.search(r"xox[abpre]-|xapp-", message):
            record.msg = re.sub(r"(xox[abpre]|xapp)-[A-Za-z0-9-]+", r"\1-***", message)
            record.args = ()
        return True


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactTokens())


def run(argv: list[str] | None = None) -> int:
    """Start the bot: migrate, then Socket Mode when SLACK_APP_TOKEN is set, else HTTP."""
    from bot.app_factory import build_context, create_app
    from bot.bootstrap import prepare_store

    settings = load_settings()
    configure_logging(settings.log_level)
    policy = load_policy(settings.servicedesk_config)
    db = Database.from_url(settings.database_url)
    db.upgrade()
    ctx = build_context(settings, policy, db)
    prepare_store(db, policy, ctx.clock)
    app = create_app(ctx)
    scheduler = None
    if settings.run_scheduler:
        scheduler = start_scheduler(ctx)
    try:
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("connecting to Slack in Socket Mode")
            SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        else:
            from bot.http import serve

            log.info(
                "serving Slack requests on http://%s:%s/slack/events", settings.host, settings.port
            )
            serve(app, db, host=settings.host, port=settings.port)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


def start_scheduler(ctx: object) -> object | None:
    """Start the background sweeps, if this build has them."""
    try:
        from schedules.wiring import start
    except ImportError:
        return None
    return start(ctx)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="servicedesk", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    db_parser = sub.add_parser("db", help="the store")
    db_parser.add_argument("action", choices=["upgrade"], help="apply pending migrations")
    args = parser.parse_args(argv)
    try:
        if args.command == "db":
            from bot.settings import Settings

            url = Settings.model_fields["database_url"].default
            import os

            from dotenv import dotenv_values

            url = os.environ.get("DATABASE_URL") or dotenv_values(".env").get("DATABASE_URL") or url
            Database.from_url(url).upgrade()
            print("database is up to date")
            return 0
        return run(argv)
    except (SettingsError, PolicyError) as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
