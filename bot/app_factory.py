"""Builds the Bolt App from settings and the pieces it needs. Nothing is created at import."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot import logs
from bot.context import AppContext, HeldWork, holding
from bot.db import Database
from bot.directory import Directory
from bot.gate import RequestGate, failure_answer
from bot.metrics import Metrics, request_kind
from bot.notifier import Notifier
from bot.routing import ACTION, COMMAND, OPTIONS, VIEW, routed
from bot.settings import Settings
from bot.slack import MeasuredWebClient, make_web_client
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
    metrics = Metrics()
    client = client or make_web_client(settings, metrics=metrics)
    clock = clock or SystemClock()
    metrics.watch_outbox(db, clock)
    # Group lookups can sit on an ack path (who is an agent?): a short timeout and no
    # retry sleeps there, falling back to what was cached.
    directory = Directory(
        MeasuredWebClient(token=client.token, base_url=client.base_url, timeout=2, metrics=metrics)
    )
    return AppContext(
        settings=settings,
        policy=policy,
        db=db,
        clock=clock,
        client=client,
        directory=directory,
        background=background
        or ThreadPoolExecutor(max_workers=8, thread_name_prefix="servicedesk-work"),
        notifier=Notifier(
            client, db, clock, directory, late_grace=policy.escalation.late_grace, metrics=metrics
        ),
        metrics=metrics,
    )


class ServiceDeskApp(App):
    """Bolt's App, timing every request to its answer (the ack: listeners only ack, see
    bolt_app) by request kind, in HTTP and Socket Mode alike, and logging one line for it with
    the kind, the user and the duration (LOG_FORMAT=json carries them as fields)."""

    metrics: Metrics

    # Listeners registered by name or pattern get a RouteMatcher first (bot/routing.py).
    def command(self, *args: Any, **kwargs: Any) -> Any:
        constraint = args[0] if args else kwargs.get("command")
        return routed(self._listeners, COMMAND, constraint, super().command(*args, **kwargs))

    def action(self, *args: Any, **kwargs: Any) -> Any:
        constraint = args[0] if args else kwargs.get("constraints")
        return routed(self._listeners, ACTION, constraint, super().action(*args, **kwargs))

    def view(self, *args: Any, **kwargs: Any) -> Any:
        constraint = args[0] if args else kwargs.get("constraints")
        return routed(self._listeners, VIEW, constraint, super().view(*args, **kwargs))

    def options(self, *args: Any, **kwargs: Any) -> Any:
        constraint = args[0] if args else kwargs.get("constraints")
        return routed(self._listeners, OPTIONS, constraint, super().options(*args, **kwargs))

    def _init_context(self, req: BoltRequest) -> None:
        # Bolt gives each request a new plain WebClient copied from the app's; listeners call
        # Slack through it, so it is made a counting one too, on the app client's connections
        # (tests/bot/test_metrics.py notices if a Bolt upgrade stops calling this).
        super()._init_context(req)
        plain = req.context.get("client")
        if isinstance(plain, WebClient) and not isinstance(plain, MeasuredWebClient):
            req.context["client"] = MeasuredWebClient(
                token=plain.token,
                base_url=plain.base_url,
                timeout=plain.timeout,
                ssl=plain.ssl,
                proxy=plain.proxy,
                headers=plain.headers,
                team_id=req.context.team_id,
                logger=plain.logger,
                retry_handlers=plain.retry_handlers,
                metrics=self.metrics,
                # The app's kept connections (bot/slack_connections.py), not a pool per request.
                connections=getattr(self.client, "connections", None),
            )

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """Answer the request; the work its listener handed on starts once the answer is
        ready (here, unless bot.http already holds it until the server has the response)."""
        if holding():
            return self._answer(req)
        held = HeldWork()
        try:
            with held:
                return self._answer(req)
        finally:
            held.release()  # also when answering raised: what was handed on still runs

    def _answer(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        body = req.body if isinstance(req.body, dict) else {}
        kind = request_kind(body)
        user = body.get("user")
        user_id = body.get("user_id") or (user.get("id") if isinstance(user, dict) else None)
        logs.set_request(kind, user_id if isinstance(user_id, str) else None)
        try:
            response = super().dispatch(req)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.ack_seconds.labels(kind).observe(seconds)
        extra: dict[str, Any] = {"duration_ms": round(seconds * 1000, 1)}
        key = _record_key(body)
        if key:
            extra["record_key"] = key
        requests_log.info(
            "%s answered %s in %.1f ms",
            _what(body, kind),
            response.status,
            seconds * 1000,
            extra=extra,
        )
        logs.clear_request()
        return response


requests_log = logging.getLogger("servicedesk.requests")


def _what(body: dict[str, Any], kind: str) -> str:
    """The request, for its log line: a command's name (never its text), else the kind."""
    command = body.get("command")
    if kind == "command" and isinstance(command, str):
        return command[:40]
    return kind


def _record_key(body: dict[str, Any]) -> str | None:
    """The record a click or a form is about, when its value or metadata names one."""
    actions = body.get("actions")
    view = body.get("view")
    for source in (
        actions[0].get("value")
        if isinstance(actions, list) and actions and isinstance(actions[0], dict)
        else None,
        view.get("private_metadata") if isinstance(view, dict) else None,
    ):
        if isinstance(source, str):
            found = logs.RECORD_KEY.search(source[:2000])
            if found:
                return found.group(1)
    return None


# Bolt warns that the token is unused whenever SLACK_BOT_TOKEN is in the environment, because
# the App is given the bot's own client (which holds that same token): not worth a warning.
class _TokenUnusedIsExpected(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt")
    if not any(isinstance(f, _TokenUnusedIsExpected) for f in logger.filters):
        logger.addFilter(_TokenUnusedIsExpected())
    return logger


def bolt_app(ctx: AppContext) -> App:
    """The Bolt App with its gate, middleware and error answer, before any record kind's
    listeners are registered (composition.create_app registers them). Listeners only ack (and,
    for forms, validate and write the record); everything slower runs on ctx.background after
    the ack."""
    signing_secret = ctx.settings.slack_signing_secret.get_secret_value()
    app = ServiceDeskApp(
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
        logger=_bolt_logger(),
    )
    app.metrics = ctx.metrics

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
