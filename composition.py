"""The composition root: the one place that knows every record kind's listeners and wires them
into the Bolt App and the scheduler's hooks. It sits above the layers it wires (bot/,
handlers/, schedules/), so none of them imports another sideways or upwards to find the kinds.

Adding a record kind: one line in HANDLERS (see the README's "How it is built")."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App

from bot.app_factory import bolt_app
from bot.context import AppContext
from handlers.agreement_changes.listeners import AgreementChangeHandlers
from handlers.audits import AuditHandlers
from handlers.changes import ChangeHandlers
from handlers.cmdb import CmdbHandlers
from handlers.customers import CustomerHandlers
from handlers.feedback import FeedbackHandlers
from handlers.home import HomeHandlers
from handlers.improvements import ImprovementHandlers
from handlers.incidents import IncidentHandlers
from handlers.management_reviews import ManagementReviewHandlers
from handlers.nonconformities import NonconformityHandlers
from handlers.problems import ProblemHandlers
from handlers.releases import ReleaseHandlers
from handlers.requests import RequestHandlers
from handlers.reviews import ReviewHandlers
from handlers.servicedesk import ServiceDeskHandlers
from handlers.servicedesk.budget import CostHandlers
from handlers.servicedesk.reports import ReportSender
from handlers.suppliers import SupplierHandlers
from schedules import wiring
from schedules.scheduler import IncidentHooks
from services.records import RecordKind

# Every kind's listeners, registered in this order. A new record kind: one line here.
HANDLERS: tuple[Callable[[AppContext], Any], ...] = (
    IncidentHandlers,
    HomeHandlers,
    CmdbHandlers,
    ProblemHandlers,
    RequestHandlers,
    ServiceDeskHandlers,
    ChangeHandlers,
    ReleaseHandlers,
    FeedbackHandlers,
    SupplierHandlers,
    CustomerHandlers,
    NonconformityHandlers,
    ImprovementHandlers,
    AuditHandlers,
    CostHandlers,
    ReviewHandlers,
    ManagementReviewHandlers,
    AgreementChangeHandlers,
)


def create_app(ctx: AppContext) -> App:
    """The Bolt App with every kind's listeners registered."""
    app = bolt_app(ctx)
    for handlers in HANDLERS:
        handlers(ctx).register(app)
    return app


def hooks_for(ctx: AppContext) -> IncidentHooks:
    """How jobs reach Slack through the handlers: post or update record messages. Every
    registered kind with a channel message (its `kind`, `announce` and `refresh`, as every
    KindHandlers has) is announced and refreshed by the sweeps; incidents are also the jobs'
    `announce` and `refresh` (closing or opening an incident posts a step)."""
    incidents = IncidentHandlers(ctx)
    announce: dict[str, Callable[[str], object]] = {}
    refresh: dict[str, Callable[[str], object]] = {}
    kinds: dict[str, RecordKind[Any]] = {}
    for make in HANDLERS:
        handlers = make(ctx)
        if not _has_message(handlers):
            continue
        prefix = handlers.kind.prefix
        announce[prefix] = handlers.announce
        refresh[prefix] = handlers.refresh
        kinds[prefix] = handlers.kind
    return IncidentHooks(
        announce=incidents.announce,
        refresh=incidents.refresh,
        announce_other=announce,
        refresh_other=refresh,
        kinds=kinds,
        send_report=ReportSender(ctx).send,
        open_major_channel=incidents.open_channel,
    )


def _has_message(handlers: Any) -> bool:
    kind = getattr(handlers, "kind", None)
    return isinstance(kind, RecordKind) and hasattr(kind.model, "message_ts")


def start_scheduler(ctx: AppContext) -> BackgroundScheduler:
    """Catch up on what fell due while the bot was down, then start the periodic sweeps."""
    return wiring.start(ctx, hooks_for(ctx))


def main(argv: list[str] | None = None) -> int:
    """`servicedesk …` and `python app.py …`: the command line, with this app and scheduler."""
    import sandbox
    from bot import cli

    return cli.main(
        argv, create_app=create_app, start_scheduler=start_scheduler, run_sandbox=sandbox.command
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
