"""Configuration items are changed by agents only, checked in the service itself."""

from __future__ import annotations

import pytest

from models.cmdb import RelationKind
from services import cmdb, cmdb_import
from services.errors import Forbidden
from services.permissions import SYSTEM, Actor
from tests.permissions_support import editor

STRANGER = Actor("U0STRANGER")


def test_strangers_cannot_change_items_and_agents_can(database, clock):
    with database.session() as session:
        with pytest.raises(Forbidden, match="Refused, because only service desk agents"):
            cmdb.create_item(session, name="web-01", type="server", actor=STRANGER, now=clock.now())
        web = cmdb.create_item(
            session, name="web-01", type="server", actor=editor("U0AGENT1"), now=clock.now()
        )
        app = cmdb.create_item(
            session, name="app", type="application", actor=SYSTEM, now=clock.now()
        )
        for attempt in (
            lambda: cmdb.update_item(
                session, item=web, changes={"team": "x"}, actor=STRANGER, now=clock.now()
            ),
            lambda: cmdb.relate(
                session,
                source=app,
                kind=RelationKind.RUNS_ON,
                target=web,
                actor=STRANGER,
                now=clock.now(),
            ),
            lambda: cmdb.unrelate(
                session,
                source=app,
                kind=RelationKind.RUNS_ON,
                target=web,
                actor=STRANGER,
                now=clock.now(),
            ),
            lambda: cmdb_import.import_file(
                session,
                text="name,type\ndb,database\n",
                format="csv",
                actor=STRANGER,
                now=clock.now(),
            ),
        ):
            with pytest.raises(
                Forbidden, match="only service desk agents can change configuration items"
            ):
                attempt()
        assert cmdb.find_by_name(session, name="db") is None
        assert cmdb.targets(session, item=app, kind=RelationKind.RUNS_ON) == []
