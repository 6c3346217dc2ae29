"""The `servicedesk` command: run the bot (default), or administer the store."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.db import Database
from bot.gc_settle import freeze_start_up
from bot.policy import PolicyError, load_policy
from bot.settings import WHERE_TO_FIND, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from slack_bolt import App

    from bot.capacity_http import CapacityEndpoint
    from bot.context import AppContext
    from models.policy import Policy

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
    cmdb_parser = sub.add_parser("cmdb", help="the configuration database")
    cmdb_sub = cmdb_parser.add_subparsers(dest="cmdb_action", required=True)
    importing = cmdb_sub.add_parser("import", help="create and update items from a file")
    importing.add_argument("file", help="a .csv, .toml or .yaml file")
    exporting = cmdb_sub.add_parser("export", help="print every item")
    exporting.add_argument("--format", choices=["csv", "toml", "yaml"], default="csv")
    audit_parser = sub.add_parser("audit", help="the audit trail")
    audit_parser.add_argument(
        "audit_action", choices=["verify"], help="check the audit trail's hash chain"
    )
    add_report_parser(sub)
    add_cost_parser(sub)
    add_evidence_parser(sub)
    add_capacity_parser(sub)
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
        if args.command == "audit":
            return audit_command(args)
        if args.command == "db":
            _database().upgrade()
            print("database is up to date")
            return 0
        if args.command == "cmdb":
            return cmdb_command(args)
        if args.command == "report":
            return report_command(args)
        if args.command == "cost":
            return cost_command(args)
        if args.command == "evidence":
            return evidence_command(args)
        if args.command == "capacity":
            return capacity_command(args)
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


def _database() -> Database:
    import os

    from dotenv import dotenv_values

    from bot.settings import Settings

    url = Settings.model_fields["database_url"].default
    url = os.environ.get("DATABASE_URL") or dotenv_values(".env").get("DATABASE_URL") or url
    return Database.from_url(url)


def audit_command(args: argparse.Namespace, db: Database | None = None) -> int:
    """`audit verify`: walk the hash chain; 0 and the row count when every row matches, 1 and
    the first row that does not (its id, record and what is wrong) otherwise."""
    from services import audit

    db = db or _database()
    with db.session() as session:
        report = audit.verify(session)
    if report.ok:
        print(f"audit trail OK: {report.rows} rows, hash chain intact")
        return 0
    print(
        f"audit trail BROKEN at row {report.bad_id} ({report.record_key}): {report.problem}. "
        f"{report.rows} rows before it verified.",
        file=sys.stderr,
    )
    return 1


def cmdb_command(args: argparse.Namespace, db: Database | None = None) -> int:
    """`cmdb import FILE` prints the report (1 when the file has errors: nothing imported);
    `cmdb export` prints the CMDB in the chosen format."""
    from services import cmdb_import
    from services.clock import SystemClock
    from services.errors import ServiceDeskError
    from services.permissions import SYSTEM

    db = db or _database()
    db.upgrade()
    try:
        if args.cmdb_action == "export":
            with db.session() as session:
                print(cmdb_import.export(session, format=args.format), end="")
            return 0
        with db.session() as session:
            report = cmdb_import.import_file(
                session, actor=SYSTEM, now=SystemClock().now(), path=args.file
            )
    except (ServiceDeskError, OSError) as error:
        print(
            f"{args.file if args.cmdb_action == 'import' else 'export'}: {error}", file=sys.stderr
        )
        return 1
    if not report.ok:
        print(f"{args.file}: {len(report.errors)} error(s), nothing imported:", file=sys.stderr)
        for row_error in report.errors:
            print(f"  {row_error}", file=sys.stderr)
        return 1
    print(
        f"{args.file}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )
    return 0


# ---- servicedesk report -------------------------------------------------------------------------


def add_report_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="write a service report as files (PDF, CSV, Markdown)")
    report.add_argument(
        "--scope",
        default="all",
        help='"all", a service, service:NAME, agreement:NAME, customer:NAME',
    )
    report.add_argument(
        "--period", default=None, help='2026-10 (a month), "last month" (default), or FROM..TO'
    )
    report.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=["pdf", "csv", "md"],
        help="repeat for several; all three when left out",
    )
    report.add_argument("--out", default=".", help="the directory to write into")


def report_command(
    args: argparse.Namespace,
    db: Database | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> int:
    """`report`: build the report of the scope and period and write the chosen formats."""
    from pathlib import Path

    from services import reports
    from services.clock import SystemClock
    from services.errors import ServiceDeskError
    from services.reports import files, text

    db = db or _database()
    db.upgrade()
    if policy is None:
        import os

        config = os.environ.get("SERVICEDESK_CONFIG")
        policy = load_policy(Path(config) if config else None)
    now = now or SystemClock().now()
    try:
        period = reports.parse_period(args.period, now=now)
        with db.read_session() as session:
            scope = reports.resolve(policy, args.scope, session)
            report = reports.build_report(session, policy, scope, period, now)
            written = files.write(
                session, report, formats=args.formats or files.FORMATS, out_dir=Path(args.out)
            )
    except ServiceDeskError as error:
        print(str(error).replace("`", ""), file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{args.out}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"{text.title(report)}: {len(written)} file(s) written")
    for path in written:
        print(f"  {path}")
    return 0


# ---- servicedesk cost import ------------------------------------------------------------------


def _policy_from_env() -> Policy:
    """The policy file SERVICEDESK_CONFIG names (./servicedesk.toml or the defaults without)."""
    import os
    from pathlib import Path

    config = os.environ.get("SERVICEDESK_CONFIG")
    return load_policy(Path(config) if config else None)


def _add_import_parser(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    *,
    about: str,
    doing: str,
    columns: str,
) -> None:
    """`servicedesk NAME import FILE`."""
    parser = sub.add_parser(name, help=about)
    actions = parser.add_subparsers(dest=f"{name}_action", required=True)
    actions.add_parser("import", help=doing).add_argument("file", help=columns)


def _print_refused(heading: str, errors: list[object], more: int) -> None:
    """A bad file's rows, each with its line, on standard error (the first 50, then a count)."""
    print(heading, file=sys.stderr)
    for row_error in errors:
        print(f"  {row_error}", file=sys.stderr)
    if more:
        print(f"  … and {more} more", file=sys.stderr)


def add_cost_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _add_import_parser(
        sub,
        "cost",
        about="costs booked against services",
        doing="book the costs in a CSV file",
        columns="CSV with date, service, amount, category[, note]",
    )


def cost_command(
    args: argparse.Namespace, db: Database | None = None, policy: Policy | None = None
) -> int:
    """`cost import FILE`: every row booked and the budgets checked (0), or nothing booked and
    each bad row's line printed (1)."""

    from services import cost_import
    from services.clock import SystemClock
    from services.permissions import SYSTEM

    policy = policy or _policy_from_env()
    db = db or _database()
    db.upgrade()
    try:
        with db.session() as session:
            report = cost_import.import_file(
                session, path=args.file, actor=SYSTEM, now=SystemClock().now(), policy=policy
            )
    except OSError as error:
        print(f"{args.file}: {error.strerror or error}", file=sys.stderr)
        return 1
    if not report.ok:
        _print_refused(
            f"{args.file}: {len(report.errors) + report.more_errors} error(s), nothing imported:",
            list(report.errors),
            report.more_errors,
        )
        return 1
    told = ", ".join(f"{a.service} {a.period} {a.threshold} %" for a in report.alerts)
    print(
        f"{args.file}: {report.imported} cost(s) booked"
        + (f"; budget alerts: {told}" if told else "")
    )
    return 0


# ---- servicedesk evidence ---------------------------------------------------------------------


def add_evidence_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    evidence = sub.add_parser("evidence", help="write the auditor's evidence pack (and a zip)")
    evidence.add_argument("--from", dest="first", required=True, help="first day, 2026-01-01")
    evidence.add_argument("--to", dest="last", required=True, help="last day, 2026-12-31")
    evidence.add_argument("--out", default=".", help="the directory to write into")


def evidence_command(
    args: argparse.Namespace,
    db: Database | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> int:
    """`evidence`: the pack of the days --from..--to under --out (0), or why not (1)."""
    from pathlib import Path

    from services import evidence
    from services.clock import SystemClock
    from services.errors import ServiceDeskError

    policy = policy or _policy_from_env()
    db = db or _database()
    db.upgrade()
    try:
        first = evidence.parse_day(args.first, "from")
        last = evidence.parse_day(args.last, "to")
        with db.session() as session:
            pack = evidence.write_pack(
                session,
                policy=policy,
                first=first,
                last=last,
                out_dir=Path(args.out),
                now=now or SystemClock().now(),
            )
    except ServiceDeskError as error:
        print(str(error), file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{args.out}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"evidence pack written: {pack.folder} and {pack.zip_path}")
    if not pack.chain_ok:
        print("warning: the audit trail's hash chain is broken; see 4.3-chain-check.txt")
    return 0


# ---- servicedesk capacity import --------------------------------------------------------------


def add_capacity_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _add_import_parser(
        sub,
        "capacity",
        about="capacity measurements",
        doing="store the measurements in a CSV file",
        columns="CSV with item, metric, value, at",
    )


def capacity_command(
    args: argparse.Namespace,
    db: Database | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> int:
    """`capacity import FILE`: every good row stored and its metric evaluated; each bad row
    printed with its line. 0 when every row was good, 1 otherwise (the good ones are kept)."""
    from services import capacity_import
    from services.clock import SystemClock

    policy = policy or _policy_from_env()
    db = db or _database()
    db.upgrade()
    try:
        with db.session() as session:
            report = capacity_import.import_file(
                session, path=args.file, policy=policy, now=now or SystemClock().now()
            )
    except OSError as error:
        print(f"{args.file}: {error.strerror or error}", file=sys.stderr)
        return 1
    told = ", ".join(f"{a.item} {a.metric} {a.kind}" for a in report.alerts)
    print(
        f"{args.file}: {report.stored} measurement(s) stored"
        + (f", {report.duplicates} already stored" if report.duplicates else "")
        + (f"; alerts: {told}" if told else "")
    )
    if report.ok:
        return 0
    refused = len(report.errors) + report.more_errors
    _print_refused(
        f"{args.file}: {refused} row(s) refused:", list(report.errors), report.more_errors
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
