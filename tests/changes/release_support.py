"""What the release tests share: who plans and manages releases, a new release, a release
taken to Scheduled (an approved change to bundle is conftest's `approved_change`)."""

from __future__ import annotations

from bot.db import Database
from services import releases
from services.clock import ManualClock
from services.permissions import Actor, Role
from tests.changes.conftest import WINDOW_END, WINDOW_START

MANAGER = Actor("UMGR1")
# The same person as an agent: agents plan releases.
PLANNER = Actor("UMGR1", frozenset({Role.AGENT}))


def make_release(
    database: Database,
    clock: ManualClock,
    change_keys: list[str],
    *,
    name: str = "Payments",
    version: str = "2.4.0",
) -> str:
    with database.session() as session:
        return releases.create(
            session,
            name=name,
            version=version,
            change_keys=change_keys,
            release_manager=MANAGER.user_id,
            release_plan="Blue/green switch",
            backout_plan="Switch back to blue",
            actor=PLANNER,
            now=clock.now(),
            window_start=WINDOW_START,
            window_end=WINDOW_END,
        ).key


def to_scheduled(database: Database, clock: ManualClock, key: str, *, passed: bool) -> None:
    with database.session() as session:
        releases.build(session, key=key, actor=MANAGER, now=clock.now())
        releases.record_test(
            session, key=key, passed=passed, note="Regression suite", actor=MANAGER, now=clock.now()
        )
        releases.schedule(session, key=key, actor=MANAGER, now=clock.now())
