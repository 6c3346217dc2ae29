"""Builds the Bolt App from settings and the pieces it needs. Nothing is created at import."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.context import AppContext
from bot.db import Database
from bot.directory import Directory
from bot.gate import RequestGate, failure_answer
from bot.notifier import Notifier
from bot.settings import Settings
from bot.slack import make_web_client
from models.policy import Policy
from services.clock import Clock, SystemClock

log = logging.getLogger(__name__)


def build_context(
    settings: Settings,
    policy: Policy,
    db: Database,
    *,
    clock: Clock | None = None,
    client: WebClient | None = None,
    background: Executor | None = None,
) -> AppContext:
    client = client or make_web_client(settings)
    clock = clock or SystemClock()
    # Group lookups can sit on an ack path (who is an agent?): a short timeout and no
    # retry sleeps there, falling back to what was cached.
    directory = Directory(WebClient(token=client.token, base_url=client.base_url, timeout=2))
    return AppContext(
        settings=settings,
        policy=policy,
        db=db,
        clock=clock,
        client=client,
        directory=directory,
        background=background
        or ThreadPoolExecutor(max_workers=8, thread_name_prefix="servicedesk-work"),
        notifier=Notifier(client, db, clock, directory, late_grace=policy.escalation.late_grace),
    )


def bolt_app(ctx: AppContext) -> App:
    """The Bolt App with its gate, middleware and error answer, before any record kind's
    listeners are registered (composition.create_app registers them). Listeners only ack (and,
    for forms, validate and write the record); everything slower runs on ctx.background after
    the ack."""
    signing_secret = ctx.settings.slack_signing_secret.get_secret_value()
    app = App(
        client=ctx.client,
        signing_secret=signing_secret,
        # The listener is the ack path: answering as soon as it returns saves Bolt's 10 ms
        # polling for ack() and keeps HTTP and Socket Mode alike.
        process_before_response=True,
        # The token is checked once at start-up (cli.check_token), with a plain message.
        token_verification_enabled=False,
        # The gate verifies signatures instead, logging a forgery in one line, then checks
        # the payload's shape before any listener reads it.
        request_verification_enabled=False,
        before_authorize=RequestGate(signing_secret),
        logger=logging.getLogger("slack_bolt"),
    )

    @app.middleware
    def skip_event_retries(request: Any, next: Any) -> BoltResponse | None:  # noqa: A002
        # Slack re-delivers an event it thinks we missed; the first delivery was handled.
        if (
            request.headers.get("x-slack-retry-num")
            and request.body.get("type") == "event_callback"
        ):
            return BoltResponse(status=200, body="")
        return next()

    app.error(failure_answer(ctx))

    return app
