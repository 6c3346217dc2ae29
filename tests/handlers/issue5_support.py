"""Shared set-up for the CMDB, request and problem flows: a policy with a catalog, and a chain
of configuration items (payments → checkout-app → web-01)."""

from __future__ import annotations

from bot.policy import parse_policy
from models.cmdb import CIType, RelationKind
from services import cmdb
from tests.conftest import TEST_POLICY
from tests.permissions_support import editor

EXTRA = """
[problems]
trend_incidents = 3
trend_window = "24h"

[[catalog.items]]
id = "laptop"
name = "New laptop"
approval = "S0APPROVERS"
fulfilment_team = "platform"

[[catalog.items.fields]]
name = "model"
label = "Model"
kind = "select"
required = true
options = ["13 inch", "15 inch"]

[[catalog.items.fields]]
name = "reason"
label = "Reason"
kind = "textarea"
required = true
"""


def issue5_policy():  # type: ignore[no-untyped-def]
    return parse_policy(TEST_POLICY + EXTRA)


def build_chain(database, clock) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """web-01 (server) ← checkout-app runs on it ← payments depends on checkout-app."""
    with database.session() as session:
        payments = cmdb.find_by_name(session, name="payments")
        assert payments is not None, "policy services are synced into the CMDB"
        app = cmdb.create_item(
            session,
            name="checkout-app",
            type=CIType.APPLICATION,
            actor=editor("U0ADMIN"),
            now=clock.now(),
        )
        server = cmdb.create_item(
            session, name="web-01", type=CIType.SERVER, actor=editor("U0ADMIN"), now=clock.now()
        )
        cmdb.relate(
            session,
            source=payments,
            kind=RelationKind.DEPENDS_ON,
            target=app,
            actor=editor("U0ADMIN"),
            now=clock.now(),
        )
        cmdb.relate(
            session,
            source=app,
            kind=RelationKind.RUNS_ON,
            target=server,
            actor=editor("U0ADMIN"),
            now=clock.now(),
        )
        return {"payments": payments.key, "app": app.key, "server": server.key}
