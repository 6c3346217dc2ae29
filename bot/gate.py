"""What every request meets before a listener, and what answers when a listener fails.

The gate checks the signature (one short log line for a forgery, never its body), the
payload's shape (400 for a malformed one) and the length of a command's text (a plain answer
for an over-long one); it also notes who asked, for follow-ups that fail later. The failure
answer turns any exception a listener lets out into a reply Slack shows the person, with a
reference that is also in the log line carrying the traceback: never a bare 500."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot import blocks as b
from bot.context import AppContext, Requester, apology, new_reference, set_requester
from bot.metrics import request_kind
from bot.payloads import MalformedRequest, Unhandled, check
from services.mrkdwn import user_text

log = logging.getLogger(__name__)

# Slack refuses requests older than five minutes; so do we (replays).
MAX_AGE_SECONDS = 300
# No command takes more than a title or a name; this is far above any of them and far below
# what would trouble the database (SQLite refuses LIKE patterns over 50,000 bytes).
MAX_COMMAND_TEXT = 500

MALFORMED = {"error": "malformed request"}


def signed(
    signing_secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
) -> bool:
    """Slack's v0 signature over the raw bytes: any body, any header value, never an exception
    (a timestamp that is not a number is simply not signed)."""
    if not timestamp or not signature:
        return False
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def log_bad_signature(size: int) -> None:
    # One short line: the body of a forged request is the sender's, not worth a log's space.
    log.warning("refused a request with a missing or wrong signature (%d bytes)", size)


def header(request: BoltRequest, name: str) -> str | None:
    values = request.headers.get(name)
    return values[0] if values else None


class RequestGate(Middleware):
    """Bolt's own request verification, replaced (it logs the whole body of every forgery at
    INFO), followed by the checks every listener relies on."""

    def __init__(self, signing_secret: str) -> None:
        self.signing_secret = signing_secret

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 (Bolt's name)
    ) -> BoltResponse | None:
        # Socket Mode requests come over Slack's own authenticated connection, unsigned.
        if req.mode != "socket_mode" and not signed(
            self.signing_secret,
            req.raw_body.encode("utf-8", "surrogateescape"),
            header(req, "x-slack-request-timestamp"),
            header(req, "x-slack-signature"),
        ):
            log_bad_signature(len(req.raw_body))
            return BoltResponse(status=401, body={"error": "invalid request"})
        try:
            check(req.body)
        except MalformedRequest as error:
            log.warning("refused a malformed request: %s", error)
            return BoltResponse(status=400, body=MALFORMED)
        except Unhandled:
            return BoltResponse(status=404, body={"error": "unhandled request"})
        body = req.body
        user = body.get("user")
        set_requester(
            Requester(
                user_id=body.get("user_id") or (user.get("id") if isinstance(user, dict) else None),
                response_url=body.get("response_url"),
            )
        )
        text = body.get("text") or ""
        if "command" in body and len(text) > MAX_COMMAND_TEXT:
            return BoltResponse(
                status=200,
                body={
                    "response_type": "ephemeral",
                    "text": f"That is {len(text):,} characters; `{user_text(body['command'][:40])}` takes at "
                    f"most {MAX_COMMAND_TEXT}. Nothing was done: try a shorter one.",
                },
            )
        return next()


def failure_answer(ctx: AppContext) -> Callable[..., BoltResponse | None]:
    """Bolt's global error handler: what Slack gets back when a listener (or a middleware)
    raised."""

    def answer(
        error: Exception, request: BoltRequest, response: BoltResponse | None
    ) -> BoltResponse | None:
        body = request.body if isinstance(request.body, dict) else {}
        ctx.metrics.listener_errors.labels(request_kind(body)).inc()
        if response is None:
            # Already acknowledged: the answer has gone; the failure is only logged.
            log.error("a listener failed after its ack", exc_info=error)
            return None
        if isinstance(error, MalformedRequest):
            log.warning("refused a malformed request: %s", error)
            return BoltResponse(status=400, body=MALFORMED)
        kind = body.get("type") or ("command" if "command" in body else "request")
        reference = new_reference()
        log.error("handling a %s failed (reference %s)", kind, reference, exc_info=error)
        if kind == "view_submission":
            # Pushed over the form, so what the person typed is still there underneath.
            return BoltResponse(
                status=200, body={"response_action": "push", "view": apology_modal(reference)}
            )
        if kind == "command":
            return BoltResponse(
                status=200, body={"response_type": "ephemeral", "text": apology(reference)}
            )
        if kind == "block_suggestion":
            return BoltResponse(status=200, body={"options": []})
        if kind == "block_actions":
            user = body.get("user")
            requester = Requester(
                user_id=user.get("id") if isinstance(user, dict) else None,
                response_url=body.get("response_url"),
            )
            ctx.background.submit(ctx.apologise, requester, reference)
        return BoltResponse(status=200, body="")

    return answer


def apology_modal(reference: str) -> dict[str, Any]:
    view = b.modal("servicedesk_failure", "Something went wrong", [b.section(apology(reference))])
    view.pop("submit")
    view["close"] = b.plain("Back to the form")
    return view
