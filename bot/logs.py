"""Log output: plain text lines (the default) or, with LOG_FORMAT=json, one JSON object per
line. Either way a Slack token (or a secret the process was given) never reaches the output:
the whole formatted line, traceback included, is masked last."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TOKEN = re.compile(r"(xox[abpre]|xapp)-[A-Za-z0-9-]+")
# A record key such as INC-12 or CHG-3 in a message.
RECORD_KEY = re.compile(r"\b([A-Z]{2,5}-\d{1,12})\b")

# What the request being handled is, for every line logged while handling it (set by the app's
# dispatch, bot.app_factory): {"kind": ..., "user": ...}.
_request: ContextVar[dict[str, str] | None] = ContextVar("servicedesk_log_request", default=None)

# Fields a log call may pass with `extra=`; JSON output carries them as they are.
FIELDS = ("record_key", "user", "kind", "duration_ms")


def set_request(kind: str, user: str | None) -> None:
    _request.set({"kind": kind, **({"user": user} if user else {})})


def clear_request() -> None:
    _request.set(None)


class _Masking:
    """Masks tokens and the given secrets in a finished line."""

    secrets: tuple[str, ...] = ()

    def mask(self, text: str) -> str:
        text = TOKEN.sub(r"\1-***", text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class PlainFormatter(_Masking, logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(PLAIN_FORMAT)
        self.secrets = tuple(s for s in secrets if len(s) >= 8)

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(super().format(record))


class JsonFormatter(_Masking, logging.Formatter):
    """One object per line: time, level, logger, message, and what is known of the request
    (kind, user), the record key (passed with `extra=` or found in the message), the duration,
    and the traceback as one string."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if len(s) >= 8)

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        entry.update(_request.get() or {})
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if "record_key" not in entry:
            found = RECORD_KEY.search(message)
            if found:
                entry["record_key"] = found.group(1)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.mask(json.dumps(entry, default=str, ensure_ascii=False))


# Library lines that say nothing an operator needs at INFO: APScheduler's "Adding job
# tentatively", "Added job", and two lines per job run every interval.
QUIET_AT_INFO = ("apscheduler",)


def configure_logging(level: str, fmt: str = "plain", secrets: Iterable[str] = ()) -> None:
    """The root logger writes to stderr at `level`, in `fmt` ("plain" or "json")."""
    formatter: logging.Formatter = (
        JsonFormatter(secrets) if fmt == "json" else PlainFormatter(secrets)
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.set_name("servicedesk")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "servicedesk":  # configured before: replaced, not doubled
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.WARNING if logging.getLevelName(level) > logging.DEBUG else logging.DEBUG
    for name in QUIET_AT_INFO:
        logging.getLogger(name).setLevel(quiet)
