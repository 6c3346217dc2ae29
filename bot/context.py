"""What every handler and job is given: policy, store, clock and Slack helpers."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.db import Database
from bot.directory import Directory
from bot.notifier import Notifier
from bot.settings import Settings
from models.policy import Policy
from services.clock import Clock


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
