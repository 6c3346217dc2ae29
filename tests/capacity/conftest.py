"""A policy with capacity requirements on a service (payments cpu), on a configuration item
that payments depends on (orders-db disk_used, owned by its DBA) and one where lower is worse
(vpn tunnels_free); a capacity plan reviewed quarterly; and the CMDB item orders-db."""

from __future__ import annotations

import pytest

from bot.policy import parse_policy
from models.cmdb import CIType, RelationKind
from services import cmdb
from services.permissions import SYSTEM
from tests.conftest import TEST_POLICY

DBA = "U0DBA"
PLANNER = "U0PLANNER"
TOKEN = "capacity-token-0123456789"

CAPACITY = f"""
[sms]
[sms.process_owners]
capacity = "U0CAPOWNER"

[[sms.capacity_plans]]
name = "Capacity plan 2027"
owner = "{PLANNER}"
link = "https://wiki.example.com/capacity"
version = "1"
next_review = 2026-12-01

[[capacity]]
item = "Payments"
metric = "CPU"
unit = "%"
warning = 70
critical = 90

[[capacity]]
item = "orders-db"
metric = "disk_used"
unit = "GB"
warning = 800
critical = 950
window = 5
horizon = "30d"

[[capacity]]
item = "vpn"
metric = "tunnels_free"
warning = 20
critical = 5
direction = "down"
owner = "U0VPNOWNER"
"""

CAPACITY_POLICY = TEST_POLICY + CAPACITY


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(CAPACITY_POLICY)


@pytest.fixture
def cmdb_items(database, policy, clock):  # type: ignore[no-untyped-def]
    """The policy's services as items, and orders-db (owned by the DBA) used by payments."""
    with database.session() as session:
        cmdb.sync_policy_services(session, policy=policy, now=clock.now())
        db_item = cmdb.create_item(
            session, name="orders-db", type=CIType.DATABASE, owner=DBA, actor=SYSTEM, now=clock.now()
        )
        payments = cmdb.find_by_name(session, name="payments")
        assert payments is not None
        cmdb.relate(
            session,
            source=payments,
            kind=RelationKind.DEPENDS_ON,
            target=db_item,
            actor=SYSTEM,
            now=clock.now(),
        )
        return db_item.key
