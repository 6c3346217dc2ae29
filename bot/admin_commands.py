"""The `servicedesk` sub-commands that work on the store without Slack: `audit verify`,
`cmdb import|export`, `report`, `cost import`, `evidence` and `capacity import`. bot/cli.py
builds the command line and hands these their arguments."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from bot.db import Database
from bot.policy import load_policy

if TYPE_CHECKING:
    from models.policy import Policy


def add_store_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The sub-commands of this module, on the command line's parser."""
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


def run_store_command(args: argparse.Namespace) -> int | None:
    """Run the sub-command `args` names if it is one of this module's; None otherwise."""
    commands = {
        "audit": audit_command,
        "cmdb": cmdb_command,
        "report": report_command,
        "cost": cost_command,
        "evidence": evidence_command,
        "capacity": capacity_command,
    }
    command = commands.get(args.command)
    if command is None:
        return None
    return command(args)


def database_from_env() -> Database:
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

    db = db or database_from_env()
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

    db = db or database_from_env()
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

    db = db or database_from_env()
    db.upgrade()
    policy = policy or _policy_from_env()
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
    db = db or database_from_env()
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
    db = db or database_from_env()
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
    db = db or database_from_env()
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
