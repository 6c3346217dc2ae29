"""What every handler and job is given: policy, store, clock and Slack helpers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from concurrent.futures import Executor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.db import Database
from bot.directory import Directory
from bot.metrics import Metrics
from bot.notifier import Notifier
from bot.settings import Settings
from models.policy import Policy
from services.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requester:
    """Who the request being handled came from, and where Slack lets us answer them: what a
    follow-up needs to apologise when it fails after the ack."""

    user_id: str | None = None
    response_url: str | None = None


# Set for each request before its listener runs (app_factory's gate), read when a listener
# hands work to the background, so no listener has to pass it along.
_requester: ContextVar[Requester | None] = ContextVar("servicedesk_requester", default=None)


def set_requester(requester: Requester) -> None:
    _requester.set(requester)


def new_reference() -> str:
    """A short id a person can quote and an admin can find in the log."""
    return secrets.token_hex(4)


def apology(reference: str) -> str:
    return (
        f"Sorry, something went wrong on our side and that was not finished. "
        f"If it happens again, give an admin this reference: `{reference}`."
    )


@dataclass
class AppContext:
    settings: Settings
    policy: Policy
    db: Database
    clock: Clock
    client: WebClient
    directory: Directory
    # Where work that follows an ack runs (a thread pool; inline in tests).
    background: Executor
    # Sends the notification outbox (pages, SLA warnings, reminders).
    notifier: Notifier
    # What GET /metrics shows (bot.metrics); build_context shares it with the client and notifier.
    metrics: Metrics = field(default_factory=Metrics)

    def follow_up(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `work` after the ack has gone back to Slack. If it fails, the traceback is logged
        with a reference and the person who asked is told, with the same reference: Slack has
        already closed the request, so silence would be all they got."""
        requester = _requester.get() or Requester()
        name = getattr(work, "__name__", repr(work))

        def run() -> None:
            try:
                work(*args, **kwargs)
            except SlackApiError as error:
                # Slack's refusal names its reason; a traceback would add nothing.
                self.metrics.listener_errors.labels("follow_up").inc()
                reference = new_reference()
                log.error(
                    "Slack refused %s: %s (reference %s)",
                    name,
                    error.response.get("error"),
                    reference,
                )
                self.apologise(requester, reference)
            except Exception:
                self.metrics.listener_errors.labels("follow_up").inc()
                reference = new_reference()
                log.exception("follow-up work %s failed (reference %s)", name, reference)
                self.apologise(requester, reference)

        self.background.submit(run)

    def apologise(self, requester: Requester, reference: str) -> None:
        """Tell the person, privately, that their request failed: through the response URL of
        their command or click, else by direct message. Best effort: when Slack itself is what
        failed, the log line is all there is."""
        text = apology(reference)
        if requester.response_url:
            try:
                sent = WebhookClient(requester.response_url, timeout=5).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                if sent.status_code < 300:
                    return
            except Exception as error:
                log.warning("could not answer through the response URL (%s): %s", reference, error)
        if requester.user_id:
            try:
                self.client.chat_postMessage(channel=requester.user_id, text=text)
            except Exception as error:
                log.warning("could not send the apology for reference %s: %s", reference, error)
