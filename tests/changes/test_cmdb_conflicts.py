"""Conflicts see through the CMDB: a change on a database clashes with one on the service
that depends on it, whichever is checked."""

from __future__ import annotations

from datetime import timedelta

from bot.db import Database
from models.cmdb import CIType, RelationKind
from models.policy import Policy
from services import change_calendar, changes, cmdb
from services.clock import ManualClock
from tests.changes.conftest import REQUESTER, WINDOW_END, change_input
from tests.permissions_support import editor


def test_change_on_a_dependency_conflicts_both_ways(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    with database.session() as session:
        now = clock.now()
        service = cmdb.create_item(
            session, name="Payments", type=CIType.SERVICE, actor=editor("U1"), now=now
        )
        app = cmdb.create_item(
            session, name="payments-api", type=CIType.APPLICATION, actor=editor("U1"), now=now
        )
        db = cmdb.create_item(
            session, name="payments-db", type=CIType.DATABASE, actor=editor("U1"), now=now
        )
        other = cmdb.create_item(
            session, name="wiki", type=CIType.SERVICE, actor=editor("U1"), now=now
        )
        cmdb.relate(
            session,
            source=service,
            kind=RelationKind.DEPENDS_ON,
            target=app,
            actor=editor("U1"),
            now=now,
        )
        cmdb.relate(
            session, source=app, kind=RelationKind.RUNS_ON, target=db, actor=editor("U1"), now=now
        )
        on_service = changes.create(
            session,
            data=change_input(targets=["Payments"]),
            requester=REQUESTER,
            now=now,
            policy=policy,
        )
        on_db = changes.create(
            session,
            data=change_input(title="Patch the database", targets=["payments-db"]),
            requester=REQUESTER,
            now=now,
            policy=policy,
        )
        on_wiki = changes.create(
            session,
            data=change_input(title="Wiki upgrade", targets=["wiki"]),
            requester=REQUESTER,
            now=now,
            policy=policy,
        )
        later_db = changes.create(
            session,
            data=change_input(
                title="Later database work",
                targets=["payments-db"],
                planned_start=WINDOW_END + timedelta(hours=1),
                planned_end=WINDOW_END + timedelta(hours=2),
            ),
            requester=REQUESTER,
            now=now,
            policy=policy,
        )
        assert other.key

        def related(names):  # type: ignore[no-untyped-def]
            return cmdb.related_names(session, names=names)

        assert [
            c.key
            for c in change_calendar.conflicts(session, change=on_service, related_targets=related)
        ] == [on_db.key]
        assert [
            c.key for c in change_calendar.conflicts(session, change=on_db, related_targets=related)
        ] == [on_service.key]
        assert change_calendar.conflicts(session, change=on_wiki, related_targets=related) == []
        assert change_calendar.conflicts(session, change=later_db, related_targets=related) == []
        # Without the CMDB only identical targets clash.
        assert change_calendar.conflicts(session, change=on_service) == []
