"""The customer and supplier sweep: satisfaction surveys for what was resolved, supplier
contract reminders, supplier breaches and review reminders, all into the outbox (the notifier sends them)."""

from __future__ import annotations

from bot.db import Database
from models.policy import Policy
from services import relationship_reviews, suppliers, surveys
from services.clock import Clock


def sweep_relationships(*, db: Database, clock: Clock, policy: Policy) -> int:
    """Queue what is due; returns how many surveys and supplier notes were queued. Surveys
    loop while full batches come back (a bot catching up after a long stop)."""
    total = 0
    while True:
        with db.session() as session:
            asked = surveys.sweep(session, now=clock.now(), policy=policy)
        total += len(asked)
        if len(asked) < surveys.SWEEP_LIMIT:
            break
    with db.session() as session:
        total += suppliers.sweep(session, now=clock.now(), policy=policy)
        total += relationship_reviews.sweep(session, now=clock.now(), policy=policy)
    return total
