"""What every handler and job is given: policy, store, clock and Slack helpers."""

from __future__ import annotations

import logging
import secrets
import time
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


# Work handed to the background while a request is being answered waits here until the answer
# is on its way: started at once, it competes for the interpreter with the very answer Slack is
# waiting for (bench/after_ack.py measures it; figures in the README). bot.http
# releases it once the server has the response; ServiceDeskApp.dispatch when nothing outside it
# holds (Socket Mode, tests that dispatch in-process).
_held: ContextVar[list[tuple[Executor, Callable[[], None]]] | None] = ContextVar(
    "servicedesk_held_work", default=None
)


# Once released, held work first lets go of the interpreter for this long: the thread that
# sends the answer (waitress's loop, the Socket Mode client) is woken just then and would
# otherwise wait for the interpreter until Python's switch interval (5 ms) takes it from the
# work.
HANDOVER_SECONDS = 0.001


class HeldWork:
    """`with HeldWork() as held:` keeps the follow-ups handed on inside the block;
    `held.release()` then starts them, in the order they were handed on, each after a short
    hand-over pause (HANDOVER_SECONDS) in its own thread."""

    def __init__(self) -> None:
        self._items: list[tuple[Executor, Callable[[], None]]] = []
        self._token: Any = None

    def __enter__(self) -> HeldWork:
        self._token = _held.set(self._items)
        return self

    def __exit__(self, *exc: object) -> None:
        _held.reset(self._token)

    def release(self) -> None:
        items, self._items = self._items, []
        for executor, run in items:
            executor.submit(_after_handover, run)


def _after_handover(run: Callable[[], None]) -> None:
    time.sleep(HANDOVER_SECONDS)
    run()


def holding() -> bool:
    """Whether follow-ups handed on now wait for the answer (see HeldWork)."""
    return _held.get() is not None


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

        held = _held.get()
        if held is not None:
            held.append((self.background, run))
        else:
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
